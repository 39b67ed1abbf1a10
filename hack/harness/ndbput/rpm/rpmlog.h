/* What rpmpkg.c takes from rpm's rpmlog.h, for ndbput (see main.c). */
#include <stdio.h>
#define RPMLOG_ERR 3
#define RPMLOG_WARNING 4
#define rpmlog(level, ...) fprintf(stderr, __VA_ARGS__)
