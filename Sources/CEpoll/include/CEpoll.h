#ifndef CAROUSEL_CEPOLL_H
#define CAROUSEL_CEPOLL_H

// epoll and eventfd for the Health module's tcp probe engine: Linux calls that Glibc's Swift
// module leaves out. Declarations only; nothing here allocates or keeps state.

#include <sys/epoll.h>
#include <sys/eventfd.h>

/// Names the calling thread (pthread_setname_np needs _GNU_SOURCE, kept out of this header).
void cepoll_name_thread(const char *name);

#endif
