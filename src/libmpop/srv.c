/* ISC license. */

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>

#include <mpop/srv.h>

#define HEADERLEN 12
#define NAME_WIRE_MAX 255
#define POINTER_HOPS_MAX 128
#define TYPE_SRV 33
#define CLASS_IN 1
#define ANSWER_MAX 65535

static unsigned int u16 (unsigned char const *s)
{
  return ((unsigned int)s[0] << 8) | s[1] ;
}

 /* One label in presentation form (RFC 1035 5.1): characters with a
    meaning in names are escaped, anything not printable is \DDD */
static size_t label_fmt (char *out, unsigned char const *s, size_t len)
{
  size_t o = 0 ;
  for (size_t i = 0 ; i < len ; i++)
  {
    unsigned char c = s[i] ;
    switch (c)
    {
      case '"' : case '.' : case ';' : case '\\' : case '(' : case ')' : case '@' : case '$' :
        out[o++] = '\\' ; out[o++] = c ; break ;
      default :
        if (c > 0x20 && c < 0x7f) out[o++] = c ;
        else
        {
          out[o++] = '\\' ;
          out[o++] = '0' + c / 100 ;
          out[o++] = '0' + c / 10 % 10 ;
          out[o++] = '0' + c % 10 ;
        }
    }
  }
  return o ;
}

 /* The name at msg[pos]: *next gets the offset after it (after its first
    pointer, if compressed). Pointers must go strictly backwards and the
    name must fit in 255 bytes, so any input ends. If out is not null, it
    gets the name in presentation form, "." for the root. */
static int name_read (unsigned char const *msg, size_t len, size_t pos, size_t *next, char *out)
{
  size_t wire = 0, o = 0 ;
  unsigned int hops = 0 ;
  int jumped = 0 ;
  for (;;)
  {
    unsigned int c ;
    if (pos >= len) return 0 ;
    c = msg[pos] ;
    if ((c & 0xc0) == 0xc0)
    {
      size_t to ;
      if (pos + 1 >= len || ++hops > POINTER_HOPS_MAX) return 0 ;
      to = ((size_t)(c & 0x3f) << 8) | msg[pos + 1] ;
      if (to >= pos) return 0 ;
      if (!jumped) { *next = pos + 2 ; jumped = 1 ; }
      pos = to ;
      continue ;
    }
    if (c & 0xc0) return 0 ;
    wire += c + 1 ;
    if (wire > NAME_WIRE_MAX) return 0 ;
    if (!c) break ;
    if (c >= len - pos) return 0 ;
    if (out)
    {
      if (o) out[o++] = '.' ;
      o += label_fmt(out + o, msg + pos + 1, c) ;
    }
    pos += 1 + c ;
  }
  if (!jumped) *next = pos + 1 ;
  if (out)
  {
    if (!o) out[o++] = '.' ;
    out[o] = 0 ;
  }
  return 1 ;
}

static int skip_questions (unsigned char const *msg, size_t len, size_t *pos, unsigned int n)
{
  while (n--)
  {
    if (!name_read(msg, len, *pos, pos, 0) || len - *pos < 4) return 0 ;
    *pos += 4 ;
  }
  return 1 ;
}

static int better (srvrecord const *a, srvrecord const *b)
{
  return a->priority < b->priority || (a->priority == b->priority && a->weight > b->weight) ;
}

 /* rdata of an SRV record: priority, weight, port, then the target
    filling the rest exactly */
static int srv_rdata (unsigned char const *msg, size_t pos, size_t rdlen, srvrecord *r)
{
  size_t end ;
  if (rdlen < 7) return 0 ;
  r->priority = u16(msg + pos) ;
  r->weight = u16(msg + pos + 2) ;
  r->port = u16(msg + pos + 4) ;
  return name_read(msg, pos + rdlen, pos + 6, &end, r->target) && end == pos + rdlen ;
}

int srv_best (unsigned char const *msg, size_t len, srvrecord *best)
{
  srvrecord cur ;
  size_t pos = HEADERLEN ;
  unsigned int an ;
  int found = 0 ;
  if (len < HEADERLEN) return -1 ;
  an = u16(msg + 6) ;
  if (!skip_questions(msg, len, &pos, u16(msg + 4))) return -1 ;
  while (an--)
  {
    unsigned int type, class ;
    size_t rdlen ;
    if (!name_read(msg, len, pos, &pos, 0) || len - pos < 10) return -1 ;
    type = u16(msg + pos) ;
    class = u16(msg + pos + 2) ;
    rdlen = u16(msg + pos + 8) ;
    pos += 10 ;
    if (rdlen > len - pos) return -1 ;
    if (type == TYPE_SRV && class == CLASS_IN)
    {
      if (!srv_rdata(msg, pos, rdlen, &cur)) return -1 ;
      if (!(cur.target[0] == '.' && !cur.target[1]) && (!found || better(&cur, best)))
      {
        *best = cur ;
        found = 1 ;
      }
    }
    pos += rdlen ;
  }
  return found ;
}

int srv_lookup (char const *name, srvrecord *best)
{
  unsigned char answer[ANSWER_MAX] ;
  int n = res_query(name, ns_c_in, ns_t_srv, answer, sizeof(answer)) ;
  if (n <= 0) return 0 ;
  return srv_best(answer, (size_t)n < sizeof(answer) ? (size_t)n : sizeof(answer), best) > 0 ;
}
