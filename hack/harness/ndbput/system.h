/* What rpmpkg.c takes from rpm's system.h, for ndbput (see main.c). */
#include <stdlib.h>
#include <string.h>
#define _(s) (s)
static inline void *ndbput_nomem(void *p) { if (!p) abort(); return p; }
#define xmalloc(n) ndbput_nomem(malloc(n))
#define xcalloc(n, s) ndbput_nomem(calloc((n), (s)))
#define xrealloc(p, n) ndbput_nomem(realloc((p), (n)))
#define xstrdup(s) ndbput_nomem(strdup(s))
