/* Hostile arguments to the socket calls (and read/write/ioctl/poll/close on whatever
 * descriptors they made): every socket is nonblocking so nothing waits forever; the
 * kernel must answer each with an errno and still power off. Argument: a seed. */
#include <stdio.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
static uint64_t s = 88172645463325252ull;
static uint64_t rnd(void){ s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
static unsigned char scratch[1<<20];
static long arg(void){
  switch (rnd()%9){
  case 0: return 0; case 1: return -1; case 2: return rnd()%16;
  case 3: return (long)scratch + (long)(rnd()%4096);
  case 4: return (long)0xffffffff80000000ul + (long)(rnd()%0x100000);
  case 5: return (long)rnd(); case 6: return 1L << (rnd()%63);
  case 7: return (long)(rnd()%256); default: return (long)(rnd()%70000);
  }
}
int main(int argc, char **argv){
  if (argc > 1) s ^= (uint64_t)atoll(argv[1]) * 0x9e3779b97f4a7c15ull;
  setvbuf(stdout,NULL,_IONBF,0); signal(SIGPIPE, SIG_IGN);
  long nrs[] = {SYS_socket,SYS_socketpair,SYS_bind,SYS_listen,SYS_accept4,SYS_connect,SYS_getsockname,SYS_getpeername,SYS_sendto,SYS_recvfrom,SYS_sendmsg,SYS_recvmsg,SYS_shutdown,SYS_setsockopt,SYS_getsockopt,SYS_ioctl,SYS_read,SYS_write,SYS_close,SYS_poll};
  int n = sizeof nrs / sizeof nrs[0];
  for (int i = 0; i < 30000; i++) {
    for (int j = 0; j < 64; j++) scratch[rnd()%8192] = rnd();
    /* plausible sockaddrs now and then */
    if (rnd()%4==0){ scratch[0]= rnd()%3 ? 2 : (rnd()%2?1:16); scratch[1]=0; scratch[2]=rnd()%4; scratch[3]=rnd(); scratch[4]=127; scratch[5]=0; scratch[6]=0; scratch[7]=1; }
    long nr = nrs[rnd()%n];
    long a[6]; for (int k=0;k<6;k++) a[k]=arg();
    if (nr==SYS_socket||nr==SYS_socketpair){ a[0]=(long[]){1,2,10,16,17,0}[rnd()%6]; a[1]=(rnd()%6)|SOCK_NONBLOCK; a[2]=rnd()%3? (long)(rnd()%20): a[2]; if(nr==SYS_socketpair) a[3]=(long)scratch; }
    if (nr==SYS_accept4) a[3]=SOCK_NONBLOCK|(rnd()%2?SOCK_CLOEXEC:0);
    if (nr==SYS_sendto||nr==SYS_recvfrom) a[3]|=MSG_DONTWAIT;
    if (nr==SYS_sendmsg||nr==SYS_recvmsg) a[2]|=MSG_DONTWAIT;
    if (nr==SYS_read||nr==SYS_write||nr==SYS_close||nr==SYS_ioctl||nr==SYS_poll) { if (nr!=SYS_poll) a[0]=3+rnd()%12; else a[2]=0; }
    if (nr==SYS_ioctl && rnd()%2) a[1]=0x8900+rnd()%0x50;
    if (nr==SYS_read||nr==SYS_write) { a[1]=(long)scratch; a[2]=rnd()%8192; }
    if (nr==SYS_close && a[0] < 3) continue;
    syscall(nr,a[0],a[1],a[2],a[3],a[4],a[5]);
  }
  printf("sockfuzz: survived 30000 socket calls\n");
  return 0;
}
