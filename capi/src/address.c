/* Target parsing and resolution (see address.h). */
#include "address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <sys/un.h>

void cg_target_free(cg_target *t) {
  free(t->host);
  free(t->port);
  free(t->unix_path);
  free(t->authority);
  memset(t, 0, sizeof(*t));
}

static int valid_port(const char *p) {
  if (!*p || strlen(p) > 5) return 0;
  long v = 0;
  for (const char *c = p; *c; c++) {
    if (*c < '0' || *c > '9') return 0;
    v = v * 10 + (*c - '0');
  }
  return v <= 65535;
}

int cg_target_parse(cg_target *t, const char *target) {
  memset(t, 0, sizeof(*t));
  if (!target || !*target) return CGRPC_E_TARGET;
  const char *s = target;
  if (strncmp(s, "unix:", 5) == 0) {
    s += 5;
    if (strncmp(s, "//", 2) == 0) s += 2; /* unix:///abs/path */
    if (!*s || strlen(s) >= sizeof(((struct sockaddr_un *)0)->sun_path))
      return CGRPC_E_TARGET;
    t->unix_path = cg_strdup(s);
    t->authority = cg_strdup("localhost");
    return t->unix_path && t->authority ? 0 : CGRPC_E_NOMEM;
  }
  if (strncmp(s, "dns:///", 7) == 0)
    s += 7;
  else if (strncmp(s, "dns:", 4) == 0)
    s += 4;
  else if (strncmp(s, "ipv4:", 5) == 0)
    s += 5;
  else if (strncmp(s, "ipv6:", 5) == 0)
    s += 5;
  const char *host, *port;
  size_t hlen;
  if (*s == '[') {
    const char *e = strchr(s, ']');
    if (!e) return CGRPC_E_TARGET;
    host = s + 1;
    hlen = (size_t)(e - host);
    if (e[1] == ':')
      port = e + 2;
    else if (e[1] == 0)
      port = "443";
    else
      return CGRPC_E_TARGET;
  } else {
    const char *c = strrchr(s, ':');
    if (c && strchr(s, ':') != c) return CGRPC_E_TARGET; /* bare IPv6 */
    host = s;
    hlen = c ? (size_t)(c - s) : strlen(s);
    port = c ? c + 1 : "443";
  }
  if (hlen == 0 || !valid_port(port)) return CGRPC_E_TARGET;
  for (size_t i = 0; i < hlen; i++)
    if (host[i] == '/' || host[i] == ' ' || host[i] == '@')
      return CGRPC_E_TARGET;
  t->host = cg_strndup(host, hlen);
  t->port = cg_strdup(port);
  size_t alen = strlen(s) + 8;
  t->authority = malloc(alen);
  if (!t->host || !t->port || !t->authority) {
    cg_target_free(t);
    return CGRPC_E_NOMEM;
  }
  int v6 = memchr(host, ':', hlen) != NULL;
  snprintf(t->authority, alen, v6 ? "[%s]:%s" : "%s:%s", t->host, t->port);
  unsigned char tmp[16];
  t->numeric = inet_pton(AF_INET, t->host, tmp) == 1 ||
               inet_pton(AF_INET6, t->host, tmp) == 1;
  return 0;
}

int cg_target_resolve(const cg_target *t, cg_addr *out, int max, char *err,
                      size_t errlen) {
  if (t->unix_path) {
    struct sockaddr_un *un = (struct sockaddr_un *)&out[0].ss;
    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    strcpy(un->sun_path, t->unix_path);
    out[0].len = sizeof(*un);
    return 1;
  }
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = t->numeric ? AI_NUMERICHOST : AI_ADDRCONFIG;
  int rc = getaddrinfo(t->host, t->port, &hints, &res);
  if (rc == EAI_BADFLAGS || (rc != 0 && !t->numeric)) {
    hints.ai_flags = 0; /* AI_ADDRCONFIG hides loopback-only hosts */
    if (res) freeaddrinfo(res);
    res = NULL;
    rc = getaddrinfo(t->host, t->port, &hints, &res);
  }
  if (rc != 0) {
    snprintf(err, errlen, "cannot resolve %s: %s", t->host, gai_strerror(rc));
    return -1;
  }
  int n = 0;
  for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(out[n].ss)) continue;
    memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
    out[n].len = ai->ai_addrlen;
    n++;
  }
  freeaddrinfo(res);
  if (n == 0) {
    snprintf(err, errlen, "no addresses for %s", t->host);
    return -1;
  }
  return n;
}

void cg_addr_name(const struct sockaddr *sa, socklen_t len, char *buf,
                  size_t buflen) {
  char ip[INET6_ADDRSTRLEN] = "";
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
    snprintf(buf, buflen, "ipv4:%s:%u", ip, ntohs(in->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
    snprintf(buf, buflen, "ipv6:[%s]:%u", ip, ntohs(in6->sin6_port));
  } else if (sa->sa_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (len > off && un->sun_path[0])
      snprintf(buf, buflen, "unix:%s", un->sun_path);
    else
      snprintf(buf, buflen, "unix:");
  } else {
    snprintf(buf, buflen, "unknown");
  }
}
