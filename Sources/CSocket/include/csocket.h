// The Linux socket calls Swift's Glibc module leaves out because they need _GNU_SOURCE: batched
// datagram I/O and the packet-info control messages. The structs are declared here with the
// kernel's layout and the calls are wrapped in csocket.c, so this header needs no _GNU_SOURCE
// (which would make its system types clash with Glibc's).
#ifndef CAROUSEL_CSOCKET_H
#define CAROUSEL_CSOCKET_H

#include <sys/socket.h>
#include <netinet/in.h>

typedef struct {
    struct msghdr msg_hdr;
    unsigned int msg_len;
} csocket_mmsghdr;

typedef struct {
    int ipi_ifindex;
    struct in_addr ipi_spec_dst;
    struct in_addr ipi_addr;
} csocket_in_pktinfo;

typedef struct {
    struct in6_addr ipi6_addr;
    unsigned int ipi6_ifindex;
} csocket_in6_pktinfo;

int csocket_recvmmsg(int fd, csocket_mmsghdr *msgs, unsigned int n, int flags);
int csocket_sendmmsg(int fd, csocket_mmsghdr *msgs, unsigned int n, int flags);

/// Names the calling thread (15 bytes at most), as `top -H` and /proc/PID/task/TID/comm show it.
void csocket_name_thread(const char *name);

extern const int csocket_ip_pktinfo;
extern const int csocket_ipv6_recvpktinfo;
extern const int csocket_ipv6_pktinfo;

#endif
