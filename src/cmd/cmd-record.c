/* cmd-record.c - `cprof record` (being written; see issue tracker). */
#include <stdio.h>
#include "cprof/cmd.h"

int cmd_record(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "cprof record: not implemented yet\n");
	return 1;
}
