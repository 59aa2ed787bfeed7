/* Provenance of every HDF5 file dlx writes: which dlx wrote it (version and
 * commit), when (UTC), on which host and by which command line, as text
 * attributes of the file's root group (docs/files.md lists them). The command
 * line is the process's: the CLI sets it once at start; a library user that
 * never sets it records "". */
#ifndef DLX_PROVENANCE_H
#define DLX_PROVENANCE_H

#include <hdf5.h>

/* Remember argv as one shell-quoted line (kept up to 4 KiB; a longer one is
 * cut and ends in "..."). */
void dlx_provenance_set_command(int argc, char *const *argv);
/* The commit dlx was built from ("unknown" outside a git checkout). */
const char *dlx_provenance_commit(void);
/* Write dlx_version, dlx_commit, created (ISO 8601 UTC), host and command on
 * obj. 0, or -1 on an HDF5 failure (the caller names the file). */
int dlx_provenance_write(hid_t obj);

#endif
