/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm_keytype.c - types code texts as a USB keyboard-wedge scanner would, for
 * the VM tests (tests/vm/): each line of standard input is typed with the US
 * layout (Shift for upper case and symbols) and ended with Enter.
 *
 *   vm_keytype hidg DEVICE [KEY_DELAY_US [LINE_GAP_US]]
 *     writes HID boot-keyboard input reports (8 bytes: modifiers, reserved,
 *     six key slots) to a gadget's /dev/hidgN: a key press report, then an
 *     all-released report.  The kernel's USB and HID stacks on the other
 *     side of dummy_hcd turn them into evdev events.
 *
 *   vm_keytype uinput VENDOR:PRODUCT [KEY_DELAY_US [LINE_GAP_US]]
 *     makes a uinput keyboard with that USB id and writes evdev key events
 *     to it directly (fast: no USB frames).  After standard input ends the
 *     device stays until SIGTERM, so the reader drains its queue first.
 *
 * KEY_DELAY_US is the pause after each key, LINE_GAP_US after each Enter.
 *
 * With --pace PIDFILE LOG after them, each line but the first is typed only once the
 * daemon is done with the one before: LOG (its log) holds one more "verdict" (or "code
 * dropped") line per line typed, and the daemon's main thread (its pid in PIDFILE, read when first
 * needed) is back asleep in epoll_wait, so the audit row and everything else after the verdict is
 * done.  A test that types code after code then waits on the daemon, not on a guess of
 * how long it takes: under TCG on a loaded host a verdict can outlast any fixed gap, and
 * keys typed meanwhile fill the kernel's 64-event queue.  Checked every millisecond
 * (no fork, a few reads); gives up after 60 s (exit 3).
 *
 * With VM_KEYTYPE_STATS=1 in the environment, the end says on standard error how many
 * reports (or events) were written and the longest time between two writes: a write to
 * /dev/hidgN returns once the report before it was taken, so that is the longest pause
 * between two keys as the other side saw them (what the daemon's key_timeout_ms judges).
 *
 * Characters outside printable ASCII are refused (exit 2) rather than
 * typed as something else.  Prints "ready" on standard output once the
 * device exists, and "typed" once every line of standard input was.
 * Exit 0 when every line was typed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define HID_MOD_LEFT_SHIFT 0x02
#define HID_USAGE_ENTER    0x28
#define LINE_MAX_BYTES     8192

struct key {
	char plain, shifted;
	uint8_t usage;   /* HID keyboard usage page (0x07) */
	uint16_t evcode; /* linux/input-event-codes.h */
};

static const struct key keys[] = {
        {'a', 'A', 0x04, KEY_A},          {'b', 'B', 0x05, KEY_B},
        {'c', 'C', 0x06, KEY_C},          {'d', 'D', 0x07, KEY_D},
        {'e', 'E', 0x08, KEY_E},          {'f', 'F', 0x09, KEY_F},
        {'g', 'G', 0x0a, KEY_G},          {'h', 'H', 0x0b, KEY_H},
        {'i', 'I', 0x0c, KEY_I},          {'j', 'J', 0x0d, KEY_J},
        {'k', 'K', 0x0e, KEY_K},          {'l', 'L', 0x0f, KEY_L},
        {'m', 'M', 0x10, KEY_M},          {'n', 'N', 0x11, KEY_N},
        {'o', 'O', 0x12, KEY_O},          {'p', 'P', 0x13, KEY_P},
        {'q', 'Q', 0x14, KEY_Q},          {'r', 'R', 0x15, KEY_R},
        {'s', 'S', 0x16, KEY_S},          {'t', 'T', 0x17, KEY_T},
        {'u', 'U', 0x18, KEY_U},          {'v', 'V', 0x19, KEY_V},
        {'w', 'W', 0x1a, KEY_W},          {'x', 'X', 0x1b, KEY_X},
        {'y', 'Y', 0x1c, KEY_Y},          {'z', 'Z', 0x1d, KEY_Z},
        {'1', '!', 0x1e, KEY_1},          {'2', '@', 0x1f, KEY_2},
        {'3', '#', 0x20, KEY_3},          {'4', '$', 0x21, KEY_4},
        {'5', '%', 0x22, KEY_5},          {'6', '^', 0x23, KEY_6},
        {'7', '&', 0x24, KEY_7},          {'8', '*', 0x25, KEY_8},
        {'9', '(', 0x26, KEY_9},          {'0', ')', 0x27, KEY_0},
        {' ', ' ', 0x2c, KEY_SPACE},      {'-', '_', 0x2d, KEY_MINUS},
        {'=', '+', 0x2e, KEY_EQUAL},      {'[', '{', 0x2f, KEY_LEFTBRACE},
        {']', '}', 0x30, KEY_RIGHTBRACE}, {'\\', '|', 0x31, KEY_BACKSLASH},
        {';', ':', 0x33, KEY_SEMICOLON},  {'\'', '"', 0x34, KEY_APOSTROPHE},
        {'`', '~', 0x35, KEY_GRAVE},      {',', '<', 0x36, KEY_COMMA},
        {'.', '>', 0x37, KEY_DOT},        {'/', '?', 0x38, KEY_SLASH},
};

/* The key for c, with *shift set when Shift must be held; NULL if none. */
static const struct key *key_for(char c, bool *shift)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].plain == c) {
			*shift = false;
			return &keys[i];
		}
		if (keys[i].shifted == c) {
			*shift = true;
			return &keys[i];
		}
	}
	return NULL;
}

static struct {
	bool on;
	unsigned long writes;
	int64_t last_us, longest_us;
} stats;

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int write_all(int fd, const void *buf, size_t len)
{
	if (stats.on) {
		int64_t now = mono_us();
		if (stats.writes++ > 0 && now - stats.last_us > stats.longest_us)
			stats.longest_us = now - stats.last_us;
		stats.last_us = now;
	}
	const unsigned char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void pause_us(long us)
{
	if (us <= 0)
		return;
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* One keyboard: press and release one key, Shift held or not. */
struct keyboard {
	int fd;
	bool uinput;
	long delay_us;
	long gap_us;
};

static int hidg_stroke(const struct keyboard *kb, uint8_t usage, bool shift)
{
	uint8_t report[8] = {shift ? HID_MOD_LEFT_SHIFT : 0, 0, usage, 0, 0, 0, 0, 0};
	if (write_all(kb->fd, report, sizeof(report)) != 0)
		return -1;
	memset(report, 0, sizeof(report));
	return write_all(kb->fd, report, sizeof(report));
}

static int emit(const struct keyboard *kb, uint16_t code, int value)
{
	struct input_event ev[2];
	memset(ev, 0, sizeof(ev));
	ev[0].type = EV_KEY;
	ev[0].code = code;
	ev[0].value = value;
	ev[1].type = EV_SYN;
	ev[1].code = SYN_REPORT;
	return write_all(kb->fd, ev, sizeof(ev));
}

static int uinput_stroke(const struct keyboard *kb, uint16_t code, bool shift)
{
	if (shift && emit(kb, KEY_LEFTSHIFT, 1) != 0)
		return -1;
	if (emit(kb, code, 1) != 0 || emit(kb, code, 0) != 0)
		return -1;
	return shift ? emit(kb, KEY_LEFTSHIFT, 0) : 0;
}

static int type_line(const struct keyboard *kb, const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		bool shift = false;
		const struct key *k = key_for(line[i], &shift);
		if (!k) {
			fprintf(stderr, "vm_keytype: cannot type byte 0x%02x\n",
			        (unsigned char)line[i]);
			return 2;
		}
		int rc = kb->uinput ? uinput_stroke(kb, k->evcode, shift)
		                    : hidg_stroke(kb, k->usage, shift);
		if (rc != 0) {
			perror("vm_keytype: write");
			return 1;
		}
		pause_us(kb->delay_us);
	}
	int rc = kb->uinput ? uinput_stroke(kb, KEY_ENTER, false)
	                    : hidg_stroke(kb, HID_USAGE_ENTER, false);
	if (rc != 0) {
		perror("vm_keytype: write");
		return 1;
	}
	pause_us(kb->delay_us + kb->gap_us);
	return 0;
}

static int uinput_create(const char *id)
{
	char *end = NULL;
	unsigned long vendor = strtoul(id, &end, 16);
	unsigned long product = *end == ':' ? strtoul(end + 1, &end, 16) : 0x10000;
	if (strlen(id) != 9 || *end != '\0' || vendor > 0xffff || product > 0xffff) {
		fprintf(stderr, "vm_keytype: '%s' is not VENDOR:PRODUCT (4 hex digits each)\n", id);
		return -1;
	}
	int fd = open("/dev/uinput", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("vm_keytype: /dev/uinput");
		return -1;
	}
	int bad = ioctl(fd, UI_SET_EVBIT, EV_KEY) | ioctl(fd, UI_SET_EVBIT, EV_SYN) |
	          ioctl(fd, UI_SET_KEYBIT, KEY_LEFTSHIFT) | ioctl(fd, UI_SET_KEYBIT, KEY_ENTER);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		bad |= ioctl(fd, UI_SET_KEYBIT, keys[i].evcode);
	struct uinput_setup setup;
	memset(&setup, 0, sizeof(setup));
	setup.id.bustype = BUS_USB;
	setup.id.vendor = (uint16_t)vendor;
	setup.id.product = (uint16_t)product;
	snprintf(setup.name, sizeof(setup.name), "qrdesk-vm uinput scanner");
	bad |= ioctl(fd, UI_DEV_SETUP, &setup) | ioctl(fd, UI_DEV_CREATE);
	if (bad) {
		perror("vm_keytype: uinput setup");
		close(fd);
		return -1;
	}
	return fd;
}

/* --pace: the daemon's log and pid, and how far the log was read. */
struct pace {
	const char *pidfile, *log;
	long pid;
	long offset;       /* bytes of LOG read, up to the last complete line */
	unsigned verdicts; /* "verdict" lines in them */
};

#define PACE_TIMEOUT_MS 60000

/* Count the verdict lines ("<6>verdict 7 valid OK ...") added to the log since last time. */
static void pace_read_log(struct pace *p)
{
	FILE *f = fopen(p->log, "r");
	if (f == NULL || fseek(f, p->offset, SEEK_SET) != 0) {
		if (f != NULL)
			fclose(f);
		return;
	}
	static char buf[LINE_MAX_BYTES];
	while (fgets(buf, sizeof(buf), f) != NULL) {
		size_t len = strlen(buf);
		if (len == 0 || buf[len - 1] != '\n')
			break; /* a line still being written: read it whole next time */
		p->offset += (long)len;
		const char *text = buf[0] == '<' && strchr(buf, '>') ? strchr(buf, '>') + 1 : buf;
		/* A code judged, or one dropped (the daemon is done with it either way). */
		if (strncmp(text, "verdict ", 8) == 0 ||
		    strstr(text, ": code dropped after ") != NULL)
			p->verdicts++;
	}
	fclose(f);
}

/* The daemon's main thread is asleep in epoll_wait (or epoll_pwait, epoll_pwait2). */
static bool pace_daemon_idle(struct pace *p)
{
	if (p->pid <= 0) {
		FILE *f = fopen(p->pidfile, "r");
		if (f == NULL || fscanf(f, "%ld", &p->pid) != 1)
			p->pid = 0;
		if (f != NULL)
			fclose(f);
		if (p->pid <= 0)
			return false;
	}
	char path[64], text[32] = "";
	snprintf(path, sizeof(path), "/proc/%ld/syscall", p->pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	bool got = fgets(text, sizeof(text), f) != NULL;
	fclose(f);
	long nr = got ? strtol(text, NULL, 10) : -1;
	return nr == 232 || nr == 281 || nr == 441;
}

/* Wait until the log holds `want` verdicts and the daemon is idle; 0, or 3 on timeout. */
static int pace_wait(struct pace *p, unsigned want)
{
	for (long ms = 0; ms < PACE_TIMEOUT_MS; ms++) {
		pace_read_log(p);
		if (p->verdicts >= want && pace_daemon_idle(p))
			return 0;
		pause_us(1000);
	}
	fprintf(stderr, "vm_keytype: no verdict %u (%u in the log; pid %ld %s) in %d s\n", want,
	        p->verdicts, p->pid, pace_daemon_idle(p) ? "idle" : "busy", PACE_TIMEOUT_MS / 1000);
	return 3;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct pace pace = {0};
	if (argc == 8 && strcmp(argv[5], "--pace") == 0) {
		pace.pidfile = argv[6];
		pace.log = argv[7];
		argc = 5;
	}
	if (argc < 3 || argc > 5 ||
	    (strcmp(argv[1], "hidg") != 0 && strcmp(argv[1], "uinput") != 0)) {
		fprintf(stderr,
		        "usage: vm_keytype hidg|uinput DEVICE|VENDOR:PRODUCT\n"
		        "                  [KEY_DELAY_US [LINE_GAP_US [--pace PIDFILE LOG]]]\n");
		return 64;
	}
	struct keyboard kb = {.fd = -1, .uinput = strcmp(argv[1], "uinput") == 0};
	const char *want_stats = getenv("VM_KEYTYPE_STATS");
	stats.on = want_stats != NULL && strcmp(want_stats, "1") == 0;
	kb.delay_us = argc >= 4 ? strtol(argv[3], NULL, 10) : 0;
	kb.gap_us = argc == 5 ? strtol(argv[4], NULL, 10) : 0;
	kb.fd = kb.uinput ? uinput_create(argv[2]) : open(argv[2], O_WRONLY | O_CLOEXEC);
	if (kb.fd < 0) {
		if (!kb.uinput)
			perror(argv[2]);
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);

	static char line[LINE_MAX_BYTES];
	int rc = 0;
	unsigned typed = 0, before = 0;
	while (rc == 0 && !stop && fgets(line, sizeof(line), stdin)) {
		size_t len = strcspn(line, "\r\n");
		if (pace.log != NULL && typed == 0) {
			pace_read_log(&pace); /* verdicts before the first line do not count */
			before = pace.verdicts;
		} else if (pace.log != NULL) {
			rc = pace_wait(&pace, before + typed);
		}
		if (rc == 0)
			rc = type_line(&kb, line, len);
		typed++;
	}
	if (stats.on)
		fprintf(stderr, "vm_keytype: %lu writes; the longest time between two: %lld ms\n",
		        stats.writes, (long long)(stats.longest_us / 1000));
	if (rc == 0) {
		printf("typed\n"); /* every line: the test may ask the daemon things now */
		fflush(stdout);
	}
	/* After a failure: go at once, so whoever reads our output sees it end. */
	if (kb.uinput && rc == 0) {
		while (!stop)
			pause_us(50000); /* not pause(): a signal may land before it */
		ioctl(kb.fd, UI_DEV_DESTROY);
	}
	close(kb.fd);
	return rc;
}
