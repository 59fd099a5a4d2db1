#ifndef CAROUSEL_CLDNS_SHIM_H
#define CAROUSEL_CLDNS_SHIM_H
#include <stdio.h>
#include <ldns/ldns.h>
#endif
