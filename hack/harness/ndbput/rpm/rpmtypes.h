/* What rpmpkg.h takes from rpm's rpmtypes.h, for ndbput (see main.c). */
typedef enum rpmRC_e { RPMRC_OK = 0, RPMRC_NOTFOUND = 1, RPMRC_FAIL = 2, RPMRC_NOTTRUSTED = 3, RPMRC_NOKEY = 4 } rpmRC;
