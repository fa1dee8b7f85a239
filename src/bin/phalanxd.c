/*
 * phalanxd.c - the daemon's entry point. Option handling is in src/cli.
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
    return cli_phalanxd_main(argc, argv);
}
