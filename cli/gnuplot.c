/* Running gnuplot on a script that library code wrote. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

bool cli_have_gnuplot(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

int cli_run_gnuplot(const char *cmd, const char *script, const char *png)
{
    if (!cli_have_gnuplot()) {
        fprintf(stderr, "dlx %s: gnuplot is not installed (apt-get install gnuplot-nox); the data and script are "
                        "written: render them with `gnuplot %s`\n", cmd, script);
        return 0;
    }
    char line[1400];
    snprintf(line, sizeof line, "gnuplot '%s'", script);
    if (system(line) != 0) {
        fprintf(stderr, "dlx %s: gnuplot failed on %s\n", cmd, script);
        return 1;
    }
    fprintf(stderr, "wrote %s\n", png);
    return 0;
}
