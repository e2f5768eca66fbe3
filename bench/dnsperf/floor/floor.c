/* The kernel's floor for a cached UDP answer: a responder that does no DNS work beyond what a reply needs.
 * Each query gets the question copied back with QR and RA set, one A record (a pointer to the question name,
 * TTL 300, 192.0.2.1) and, when the query carried an EDNS OPT record, an OPT record of our own (1232 octets,
 * DO copied). Malformed queries are dropped. One socket, one thread, blocking I/O.
 *   floor ADDR PORT sync        recvfrom/sendto per datagram
 *   floor ADDR PORT mmsg [N]    recvmmsg(MSG_WAITFORONE) batches of up to N (default 32) and one sendmmsg per
 *                               batch, sendto when the batch holds one reply (as Ananas' UDP batch does)
 * Built by bench/dnsperf/cpu-per-query.sh with the system's C compiler. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_BATCH 256
#define BUF 1500

/* Writes the reply to QUERY (LEN octets) into OUT; returns its length, or 0 to drop the query. */
static size_t answer(const uint8_t *q, size_t len, uint8_t *out) {
  if (len < 12 || (q[2] & 0x80) || q[4] != 0 || q[5] != 1) return 0; /* a query with one question */
  size_t p = 12;
  while (p < len && q[p] != 0) {
    if ((q[p] & 0xC0) != 0) return 0; /* no compression in a question */
    p += 1 + q[p];
  }
  if (p + 5 > len) return 0;
  size_t qend = p + 5; /* root label, QTYPE, QCLASS */
  unsigned arcount = (q[10] << 8) | q[11];
  int opt = 0, dobit = 0;
  if (arcount == 1 && qend + 11 <= len && q[qend] == 0 && q[qend + 1] == 0 && q[qend + 2] == 41) {
    opt = 1;
    dobit = q[qend + 7] & 0x80;
  }
  memcpy(out, q, qend);
  out[2] = 0x80 | (q[2] & 0x79); /* QR, opcode and RD copied, AA/TC clear */
  out[3] = 0x80;                 /* RA, rcode NOERROR */
  out[6] = 0; out[7] = 1;        /* ANCOUNT 1 */
  out[8] = 0; out[9] = 0;
  out[10] = 0; out[11] = opt;
  uint8_t *a = out + qend;
  static const uint8_t rr[] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x01, 0x2C, 0, 4, 192, 0, 2, 1};
  memcpy(a, rr, sizeof rr);
  a += sizeof rr;
  if (opt) {
    const uint8_t o[] = {0, 0, 41, 0x04, 0xD0, 0, 0, (uint8_t)dobit, 0, 0, 0};
    memcpy(a, o, sizeof o);
    a += sizeof o;
  }
  return (size_t)(a - out);
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: floor ADDR PORT sync|mmsg [BATCH]\n"); return 2; }
  int batch = argc > 4 ? atoi(argv[4]) : 32;
  if (batch < 1 || batch > MAX_BATCH) { fprintf(stderr, "batch 1..%d\n", MAX_BATCH); return 2; }
  int mmsg = strcmp(argv[3], "mmsg") == 0;
  if (!mmsg && strcmp(argv[3], "sync") != 0) { fprintf(stderr, "mode: sync or mmsg\n"); return 2; }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", argv[1]); return 2; }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("bind"); return 1; }

  static uint8_t in[MAX_BATCH][BUF], out[MAX_BATCH][BUF];
  static struct sockaddr_in from[MAX_BATCH];
  if (!mmsg) {
    for (;;) {
      socklen_t fl = sizeof from[0];
      ssize_t n = recvfrom(fd, in[0], BUF, 0, (struct sockaddr *)&from[0], &fl);
      if (n < 0) continue;
      size_t r = answer(in[0], (size_t)n, out[0]);
      if (r) sendto(fd, out[0], r, 0, (struct sockaddr *)&from[0], fl);
    }
  }
  static struct mmsghdr rx[MAX_BATCH], tx[MAX_BATCH];
  static struct iovec riov[MAX_BATCH], tiov[MAX_BATCH];
  for (int i = 0; i < batch; i++) {
    riov[i] = (struct iovec){in[i], BUF};
    rx[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_iov = &riov[i], .msg_iovlen = 1};
  }
  for (;;) {
    for (int i = 0; i < batch; i++) rx[i].msg_hdr.msg_namelen = sizeof from[i];
    int n = recvmmsg(fd, rx, (unsigned)batch, MSG_WAITFORONE, NULL);
    if (n <= 0) continue;
    int k = 0;
    for (int i = 0; i < n; i++) {
      size_t r = answer(in[i], rx[i].msg_len, out[i]);
      if (!r) continue;
      tiov[k] = (struct iovec){out[i], r};
      tx[k].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = rx[i].msg_hdr.msg_namelen,
                                      .msg_iov = &tiov[k], .msg_iovlen = 1};
      k++;
    }
    if (k == 1) sendto(fd, tiov[0].iov_base, tiov[0].iov_len, 0, tx[0].msg_hdr.msg_name, tx[0].msg_hdr.msg_namelen);
    else if (k > 1) sendmmsg(fd, tx, (unsigned)k, 0);
  }
}
