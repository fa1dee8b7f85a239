/*
 * phalanx.c - the admin CLI (CrowdSec's cscli). Everything is in src/cli.
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
    return cli_phalanx_main(argc, argv);
}
