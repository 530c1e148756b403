/* SPDX-License-Identifier: Apache-2.0 */
/* source.c - what all code sources share (see source.h). */
#include "qrdesk/source.h"

const char *source_state_name(enum source_state state)
{
	switch (state) {
	case SOURCE_STOPPED:
		return "stopped";
	case SOURCE_RUNNING:
		return "running";
	case SOURCE_ABSENT:
		return "absent";
	case SOURCE_STALLED:
		return "stalled";
	case SOURCE_FAILED:
		return "failed";
	case SOURCE_DONE:
		return "done";
	}
	return "unknown";
}

void source_rescan(struct source *src)
{
	if (src->ops->rescan != NULL)
		src->ops->rescan(src);
}
