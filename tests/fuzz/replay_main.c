/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay_main.c - run a fuzz target without libFuzzer: call
 * LLVMFuzzerTestOneInput once for every file given, and for every regular
 * file in every directory given (not recursively; hidden files skipped), in
 * name order.  Each input is in a heap block of exactly its size, so a read
 * past it is an ASan report in a sanitizer build.
 *
 *   fuzz_<target>_replay [-v] PATH...
 *
 * Prints "replayed N inputs" and exits 0.  Exits 2 if a path cannot be read
 * or no input was found at all (a regression test that replays nothing
 * proves nothing).  A crash or a broken property aborts, as under libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static bool verbose;

static int replay_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = fuzz_alloc(cap);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			uint8_t *bigger = realloc(buf, cap);
			if (bigger == NULL)
				abort();
			buf = bigger;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	bool failed = ferror(f) != 0;
	fclose(f);
	if (failed) {
		fprintf(stderr, "%s: read error\n", path);
		free(buf);
		return -1;
	}
	/* Exactly len bytes, so ASan sees the end of the input where the target does. */
	uint8_t *input = fuzz_alloc(len);
	if (len > 0)
		memcpy(input, buf, len);
	free(buf);
	if (verbose)
		fprintf(stderr, "replaying %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(input, len);
	free(input);
	(*count)++;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			char **bigger = realloc(names, cap * sizeof(*names));
			if (bigger == NULL)
				abort();
			names = bigger;
		}
		size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
		names[n] = fuzz_alloc(len);
		snprintf(names[n], len, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			rc = replay_file(names[i], count);
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int args = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose = true;
			continue;
		}
		args++;
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		int rc = S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count)
		                             : replay_file(argv[i], &count);
		if (rc != 0)
			return 2;
	}
	if (args == 0) {
		fprintf(stderr, "usage: %s [-v] FILE-OR-DIRECTORY...\n", argv[0]);
		return 2;
	}
	printf("replayed %zu inputs\n", count);
	if (count == 0) {
		fprintf(stderr, "no inputs found\n");
		return 2;
	}
	return 0;
}
