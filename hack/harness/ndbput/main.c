/*
 * ndbput DBFILE: writes the rpm headers on stdin into an ndb Packages.db, with rpm's own ndb code
 * (lib/backend/ndb/rpmpkg.c of the rpm release Debian ships, compiled next to this file by
 * hack/harness/rpmdbs.sh). Debian's rpm is built without the ndb backend; this lets rpm's code, not
 * ours, write the database that distros/rpm/rpmdb reads.
 *
 * stdin: records of u32 header number, u32 length (both little-endian), then the header blob.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "rpmpkg.h"

static int readn(unsigned char *p, size_t n)
{
    return fread(p, 1, n, stdin) == n;
}

int main(int argc, char **argv)
{
    rpmpkgdb db;
    unsigned char hd[8];
    if (argc != 2) {
	fprintf(stderr, "usage: ndbput DBFILE <records\n");
	return 2;
    }
    if (rpmpkgOpen(&db, argv[1], O_RDWR | O_CREAT, 0644)) {
	perror(argv[1]);
	return 1;
    }
    if (rpmpkgLock(db, 1)) {
	fprintf(stderr, "ndbput: cannot lock %s\n", argv[1]);
	return 1;
    }
    while (readn(hd, 8)) {
	uint32_t hnum = hd[0] | hd[1] << 8 | hd[2] << 16 | (uint32_t)hd[3] << 24;
	uint32_t len = hd[4] | hd[5] << 8 | hd[6] << 16 | (uint32_t)hd[7] << 24;
	unsigned char *blob = malloc(len ? len : 1);
	unsigned int next;
	if (!blob || !readn(blob, len)) {
	    fprintf(stderr, "ndbput: short record for header %u\n", hnum);
	    return 1;
	}
	/* rpm numbers headers itself (rpmpkgNextPkgIdx); keep its numbers equal to the sqlite ones. */
	if (rpmpkgNextPkgIdx(db, &next) || next > hnum) {
	    fprintf(stderr, "ndbput: header numbers must ascend (next %u, got %u)\n", next, hnum);
	    return 1;
	}
	if (rpmpkgPut(db, hnum, blob, len)) {
	    fprintf(stderr, "ndbput: writing header %u failed\n", hnum);
	    return 1;
	}
	free(blob);
    }
    if (rpmpkgVerify(db)) {
	fprintf(stderr, "ndbput: %s does not verify\n", argv[1]);
	return 1;
    }
    rpmpkgUnlock(db, 1);
    rpmpkgClose(db);
    return 0;
}
