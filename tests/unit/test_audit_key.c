/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_audit_key.c - the audit key file (firmware/audit_key.c): written 0600
 * and read back; every bad file refused with its code, never half-read.  The
 * desk's batch-signing key (firmware/desk_key.c) in the same file format.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qrdesk/audit_key.h"
#include "qrdesk/desk_key.h"
#include "testutil.h"

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	free(dir);
	return 0;
}

static char *path_of(const char *name)
{
	static char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void put(const char *name, const char *text, mode_t mode)
{
	const char *p = path_of(name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static enum qd_err load(const char *name)
{
	uint8_t key[CREDENTIAL_AUDIT_KEY_LEN];
	struct qd_errmsg why = {{0}};
	enum qd_err rc = audit_key_load(path_of(name), key, &why);
	if (rc != QD_OK)
		assert_true(why.text[0] != '\0'); /* every refusal says why */
	return rc;
}

#define HEX64 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void test_written_key_reads_back(void **state)
{
	(void)state;
	uint8_t key[CREDENTIAL_AUDIT_KEY_LEN], back[CREDENTIAL_AUDIT_KEY_LEN];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0xa0 + i);
	struct qd_errmsg why = {{0}};
	assert_int_equal(audit_key_write(path_of("k"), key, (uid_t)-1, (gid_t)-1, &why), QD_OK);
	struct stat st;
	assert_int_equal(stat(path_of("k"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(audit_key_load(path_of("k"), back, &why), QD_OK);
	assert_memory_equal(key, back, sizeof(key));
	/* never overwritten */
	assert_int_equal(audit_key_write(path_of("k"), key, (uid_t)-1, (gid_t)-1, &why),
	                 QD_ERR_EXISTS);
}

static void test_text_forms(void **state)
{
	(void)state;
	put("plain", HEX64 "\n", 0600);
	assert_int_equal(load("plain"), QD_OK);
	put("crlf", HEX64 "\r\n  \t\n", 0600);
	assert_int_equal(load("crlf"), QD_OK);
	put("short", "0001020304\n", 0600);
	assert_int_equal(load("short"), QD_ERR_FORMAT);
	put("more", HEX64 "00\n", 0600);
	assert_int_equal(load("more"), QD_ERR_FORMAT);
	put("nothex", "zz" HEX64 "\n", 0600);
	assert_int_equal(load("nothex"), QD_ERR_FORMAT);
	put("empty", "", 0600);
	assert_int_equal(load("empty"), QD_ERR_FORMAT);
}

/* White space up to the limit is allowed; a byte past it is refused, not cut off. */
static void test_long_file_refused(void **state)
{
	(void)state;
	char text[1024];
	memset(text, ' ', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	memcpy(text, HEX64, 64);
	memcpy(text + sizeof(text) - 3, "ff", 2); /* junk far past the digits */
	put("long", text, 0600);
	assert_int_equal(load("long"), QD_ERR_FORMAT);
}

static void test_lax_mode_link_and_missing(void **state)
{
	(void)state;
	put("group", HEX64 "\n", 0640);
	assert_int_equal(load("group"), QD_ERR_PERM);
	put("world", HEX64 "\n", 0604);
	assert_int_equal(load("world"), QD_ERR_PERM);
	put("target", HEX64 "\n", 0600);
	char target[512];
	snprintf(target, sizeof(target), "%s", path_of("target")); /* path_of's buffer is reused */
	assert_int_equal(symlink(target, path_of("link")), 0);
	assert_int_equal(load("link"), QD_ERR_IO);
	assert_int_equal(mkdir(path_of("adir"), 0700), 0);
	assert_int_equal(load("adir"), QD_ERR_IO);
	assert_int_equal(load("absent"), QD_ERR_NOT_FOUND);
}

/* The desk key: made once, 0600, read back as the same pair that signs and verifies; never
 * replaced; a lax mode refused as for the audit key. */
static void test_desk_key(void **state)
{
	(void)state;
	assert_int_equal(signature_init(), QD_OK);
	char p[512];
	desk_key_default_path(path_of("desk.db"), p, sizeof(p));
	assert_string_equal(p, path_of("desk.key"));
	struct signature_keypair made, back;
	struct qd_errmsg why = {{0}};
	assert_int_equal(desk_key_load(p, &back, &why), QD_ERR_NOT_FOUND);
	assert_int_equal(desk_key_create(p, (uid_t)-1, (gid_t)-1, &made, &why), QD_OK);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(desk_key_load(p, &back, &why), QD_OK);
	assert_int_equal(back.pub_len, SIGNATURE_ED25519_PUBLIC_LEN);
	assert_memory_equal(made.pub, back.pub, back.pub_len);
	uint8_t sig[SIGNATURE_LEN];
	assert_int_equal(signature_sign(&back, (const uint8_t *)"batch", 5, sig), QD_OK);
	assert_int_equal(signature_verify(SIGNATURE_ALG_EDDSA, made.pub, made.pub_len,
	                                  (const uint8_t *)"batch", 5, sig, sizeof(sig)),
	                 QD_OK);
	struct signature_keypair other;
	assert_int_equal(desk_key_create(p, (uid_t)-1, (gid_t)-1, &other, &why), QD_ERR_EXISTS);
	assert_int_equal(desk_key_load(p, &back, &why), QD_OK);
	assert_memory_equal(made.pub, back.pub, back.pub_len); /* still the first key */
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(desk_key_load(p, &back, &why), QD_ERR_PERM);
	assert_non_null(strstr(why.text, "chmod 600"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_written_key_reads_back),
	        cmocka_unit_test(test_text_forms),
	        cmocka_unit_test(test_long_file_refused),
	        cmocka_unit_test(test_lax_mode_link_and_missing),
	        cmocka_unit_test(test_desk_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
