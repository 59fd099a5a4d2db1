// The kernel's floor for tcp checks (bench/README.md, `bench/probing`): N loopback
// connect+close a second from one thread with epoll, against bench/lib/tcp-listener on PORT, to
// 127.20.0.1 … (IPv4) or ::1; prints this process's user+system CPU per connection.
//   cc -O2 -o /tmp/connect-floor bench/lib/connect-floor.c
//   bench/lib/tcp-listener 5480 & /tmp/connect-floor 10000 10 5480 rst      # or fin
//   REUSE=1 /tmp/connect-floor 10000 10 5480 rst     # keep sockets: connect(AF_UNSPEC), no close
//   READ=1 REUSE=1 /tmp/connect-floor 5000 10 5480 rst   # an agent check: connect, read the line
//     (against tcp-listener --reply), then disconnect
// Usage: connect-floor N SECONDS PORT rst|fin [4|6]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){
  int n=atoi(argv[1]); double secs=atof(argv[2]); int port=atoi(argv[3]); int rst=strcmp(argv[4],"rst")==0;
  int fam = argc>5?atoi(argv[5]):4;
  int ep=epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event evs[512];
  long started=0, ok=0, fail=0, pending=0;
  double t0=now(); struct rusage r0; getrusage(RUSAGE_SELF,&r0);
  int idx=0; static int freefds[65536]; int nfree=0; int reuse=getenv("REUSE")!=0;
  int readline=getenv("READ")!=0; static char reading[1<<20]; char buf[512];
  while(1){
    double t=now()-t0; if(t>=secs) break;
    long due=(long)(t*n);
    while(started<due){
      int fd;
      if(fam==4 && nfree>0){ fd=freefds[--nfree];
        struct sockaddr_in a={0}; a.sin_family=AF_INET; a.sin_port=htons(port);
        a.sin_addr.s_addr=htonl(0x7f140000u + 1 + (idx%n)); idx++;
        int rc=connect(fd,(void*)&a,sizeof a);
        if(rc<0&&errno!=EINPROGRESS){fail++;close(fd);started++;continue;}
        struct epoll_event e={.events=EPOLLOUT|EPOLLONESHOT,.data.fd=fd}; epoll_ctl(ep,EPOLL_CTL_MOD,fd,&e); pending++; started++; continue;
      }
      if(fam==4){
        struct sockaddr_in a={0}; a.sin_family=AF_INET; a.sin_port=htons(port);
        a.sin_addr.s_addr=htonl(0x7f140000u + 1 + (idx%n)); idx++;
        fd=socket(AF_INET,SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC,0);
        int one=1; setsockopt(fd,IPPROTO_TCP,TCP_NODELAY,&one,sizeof one);
        if(rst){struct linger l={1,0}; setsockopt(fd,SOL_SOCKET,SO_LINGER,&l,sizeof l);}
        int rc=connect(fd,(void*)&a,sizeof a);
        if(rc<0&&errno!=EINPROGRESS){fail++;close(fd);started++;continue;}
      } else {
        struct sockaddr_in6 a={0}; a.sin6_family=AF_INET6; a.sin6_port=htons(port); a.sin6_addr=in6addr_loopback; idx++;
        fd=socket(AF_INET6,SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC,0);
        if(rst){struct linger l={1,0}; setsockopt(fd,SOL_SOCKET,SO_LINGER,&l,sizeof l);}
        int rc=connect(fd,(void*)&a,sizeof a);
        if(rc<0&&errno!=EINPROGRESS){fail++;close(fd);started++;continue;}
      }
      struct epoll_event e={.events=EPOLLOUT|EPOLLONESHOT,.data.fd=fd};
      epoll_ctl(ep,EPOLL_CTL_ADD,fd,&e); pending++; started++;
    }
    int k=epoll_wait(ep,evs,512,1);
    for(int i=0;i<k;i++){int fd=evs[i].data.fd; int err=0; socklen_t l=sizeof err;
      if(readline && reading[fd]){ if(recv(fd,buf,sizeof buf,0)<0 && errno==EAGAIN){
          struct epoll_event e={.events=EPOLLIN|EPOLLRDHUP|EPOLLONESHOT,.data.fd=fd}; epoll_ctl(ep,EPOLL_CTL_MOD,fd,&e); continue;}
        reading[fd]=0; ok++; }
      else { getsockopt(fd,SOL_SOCKET,SO_ERROR,&err,&l);
        if(!err && readline){ reading[fd]=1;
          struct epoll_event e={.events=EPOLLIN|EPOLLRDHUP|EPOLLONESHOT,.data.fd=fd}; epoll_ctl(ep,EPOLL_CTL_MOD,fd,&e); continue;}
        if(err)fail++; else ok++; }
      pending--; if(reuse && nfree<65536){struct sockaddr u={.sa_family=AF_UNSPEC}; connect(fd,&u,sizeof u); freefds[nfree++]=fd;} else close(fd);}
  }
  struct rusage r1; getrusage(RUSAGE_SELF,&r1); double el=now()-t0;
  double u=(r1.ru_utime.tv_sec-r0.ru_utime.tv_sec)+(r1.ru_utime.tv_usec-r0.ru_utime.tv_usec)/1e6;
  double s=(r1.ru_stime.tv_sec-r0.ru_stime.tv_sec)+(r1.ru_stime.tv_usec-r0.ru_stime.tv_usec)/1e6;
  printf("n=%d mode=%s fam=%d elapsed=%.1fs started=%ld ok=%ld fail=%ld pending=%ld user=%.2fs sys=%.2fs share=%.1f%% us/probe=%.1f\n",
    n,argv[4],fam,el,started,ok,fail,pending,u,s,(u+s)/el*100,(u+s)*1e6/(ok+fail));
  return 0;
}
