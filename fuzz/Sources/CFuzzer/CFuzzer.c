// Only the header matters: it declares libFuzzer's driver entry for Swift.
#include "CFuzzer.h"
