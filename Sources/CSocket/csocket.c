#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include "csocket.h"

_Static_assert(sizeof(csocket_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");
_Static_assert(sizeof(csocket_in_pktinfo) == sizeof(struct in_pktinfo), "in_pktinfo layout");
_Static_assert(sizeof(csocket_in6_pktinfo) == sizeof(struct in6_pktinfo), "in6_pktinfo layout");

int csocket_recvmmsg(int fd, csocket_mmsghdr *msgs, unsigned int n, int flags) {
    return recvmmsg(fd, (struct mmsghdr *)msgs, n, flags, NULL);
}

int csocket_sendmmsg(int fd, csocket_mmsghdr *msgs, unsigned int n, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)msgs, n, flags);
}

void csocket_name_thread(const char *name) {
    pthread_setname_np(pthread_self(), name);
}

const int csocket_ip_pktinfo = IP_PKTINFO;
const int csocket_ipv6_recvpktinfo = IPV6_RECVPKTINFO;
const int csocket_ipv6_pktinfo = IPV6_PKTINFO;
