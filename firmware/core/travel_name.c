/* SPDX-License-Identifier: Apache-2.0 */
/*
 * travel_name.c - names on the card, the passport and the boarding pass
 * (see travel_name.h for the rules).
 */
#include "qrdesk/travel_name.h"

#include <string.h>

static const char *const titles[] = {"MR", "MRS", "MS", "MISS", "MSTR", "DR", "PROF", "MX"};
#define TITLES_N (sizeof(titles) / sizeof(titles[0]))

bool travel_name_parse(const char *text, struct travel_name *out)
{
	memset(out, 0, sizeof(*out));
	size_t len = 0;
	bool in_part = false;
	for (const char *p = text; *p != '\0'; p++) {
		char ch = *p;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (ch == '\'')
			continue;
		if (ch == ' ' || ch == '-' || ch == '.' || ch == ',' || ch == '<' || ch == '/') {
			if (in_part)
				out->n++;
			in_part = false;
			continue;
		}
		if (ch < 'A' || ch > 'Z')
			return false;
		if (!in_part) {
			if (out->n >= TRAVEL_NAME_PARTS_MAX)
				return false;
			in_part = true;
			len = 0;
		}
		if (len >= TRAVEL_NAME_PART_MAX)
			return false;
		out->parts[out->n][len++] = ch;
	}
	if (in_part)
		out->n++;
	return out->n > 0;
}

/* Is every part of a the same as one of b, each as often (a permutation)? */
static bool same_parts(const struct travel_name *a, const struct travel_name *b)
{
	if (a->n != b->n)
		return false;
	bool used[TRAVEL_NAME_PARTS_MAX] = {false};
	for (size_t i = 0; i < a->n; i++) {
		size_t j = 0;
		while (j < b->n && (used[j] || strcmp(a->parts[i], b->parts[j]) != 0))
			j++;
		if (j == b->n)
			return false;
		used[j] = true;
	}
	return true;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Find an unused card part for which ok(part, doc part) holds; mark it used. */
static bool claim(const struct travel_name *card, bool *used, const char *doc,
                  bool (*ok)(const char *card_part, const char *doc_part))
{
	for (size_t j = 0; j < card->n; j++)
		if (!used[j] && ok(card->parts[j], doc)) {
			used[j] = true;
			return true;
		}
	return false;
}

static bool part_equal(const char *card_part, const char *doc_part)
{
	return strcmp(card_part, doc_part) == 0;
}

static bool part_initial(const char *card_part, const char *doc_part)
{
	return doc_part[1] == '\0' && card_part[0] == doc_part[0];
}

static bool part_prefix(const char *card_part, const char *doc_part)
{
	return starts_with(card_part, doc_part);
}

/*
 * The document's name is the card's shortened by 9303's or IATA's rules: the
 * card's could not fit (its shortest rendering, with min_extra more
 * separator characters than one between each part, is longer than
 * field_len); the document's fills its field (cut) or has initials; every
 * document part but the last is a card part or its initial, the last begins
 * one; and unless the field is full (something cut off its end), no card
 * part is left over.
 */
static bool truncated_from(const struct travel_name *card, const struct travel_name *doc,
                           bool doc_full, size_t field_len, size_t min_extra)
{
	if (doc->n == 0)
		return false;
	size_t rendered = card->n - 1 + (card->n > 1 ? min_extra : 0);
	for (size_t i = 0; i < card->n; i++)
		rendered += strlen(card->parts[i]);
	bool initials = false;
	for (size_t i = 0; i < doc->n; i++)
		initials = initials || doc->parts[i][1] == '\0';
	if (rendered <= field_len || !(doc_full || initials))
		return false;
	bool used[TRAVEL_NAME_PARTS_MAX] = {false}, matched[TRAVEL_NAME_PARTS_MAX] = {false};
	size_t last = doc->n - 1;
	/* Whole parts first, so an initial never takes the part a whole one needs. */
	for (size_t i = 0; i < last; i++)
		matched[i] = claim(card, used, doc->parts[i], part_equal);
	for (size_t i = 0; i < last; i++)
		if (!matched[i] && !claim(card, used, doc->parts[i], part_initial))
			return false;
	if (!claim(card, used, doc->parts[last], part_prefix))
		return false;
	if (doc_full)
		return true;
	for (size_t j = 0; j < card->n; j++)
		if (!used[j])
			return false;
	return true;
}

static enum travel_name_match compare(const char *card_name, const struct travel_name *doc,
                                      bool doc_full, size_t field_len, size_t min_extra)
{
	struct travel_name c;
	if (!travel_name_parse(card_name, &c))
		return TRAVEL_NAME_UNCOMPARABLE;
	if (same_parts(&c, doc))
		return TRAVEL_NAME_EQUAL;
	if (truncated_from(&c, doc, doc_full, field_len, min_extra))
		return TRAVEL_NAME_TRUNCATED;
	return TRAVEL_NAME_DIFFERENT;
}

/* Append the parts of text (already normalised, space-separated) to out. */
static bool append_parts(struct travel_name *out, const char *text)
{
	struct travel_name more;
	if (text[0] == '\0')
		return true;
	if (!travel_name_parse(text, &more) || out->n + more.n > TRAVEL_NAME_PARTS_MAX)
		return false;
	memcpy(out->parts[out->n], more.parts, more.n * sizeof(more.parts[0]));
	out->n += more.n;
	return true;
}

enum travel_name_match travel_name_match_mrz(const char *card_name, const struct mrz_td3 *mrz)
{
	struct travel_name doc = {0};
	if (!append_parts(&doc, mrz->primary) || !append_parts(&doc, mrz->secondary) || doc.n == 0)
		return TRAVEL_NAME_DIFFERENT;
	/* Rendered as PRIMARY<<SECONDARY: one separator more than the parts need. */
	return compare(card_name, &doc, mrz->name_full, MRZ_TD3_NAME, 1);
}

/* Drop a trailing title part, or a title glued to the last given name ("LUCMR"). */
static void drop_title(struct travel_name *doc, bool glued)
{
	if (doc->n < 2)
		return;
	char *last = doc->parts[doc->n - 1];
	size_t len = strlen(last);
	for (size_t i = 0; i < TITLES_N; i++) {
		size_t tl = strlen(titles[i]);
		if (!glued && strcmp(last, titles[i]) == 0) {
			doc->n--;
			return;
		}
		if (glued && len > tl && strcmp(last + len - tl, titles[i]) == 0) {
			last[len - tl] = '\0';
			return;
		}
	}
}

enum travel_name_match travel_name_match_bcbp(const char *card_name, const struct bcbp *pass)
{
	struct travel_name doc;
	const char *slash = strchr(pass->name, '/');
	if (slash == NULL || !travel_name_parse(pass->name, &doc))
		return TRAVEL_NAME_DIFFERENT;
	/* Only given names (after the '/') carry a title. */
	struct travel_name surname;
	char head[BCBP_NAME_LEN + 1];
	size_t hl = (size_t)(slash - pass->name);
	memcpy(head, pass->name, hl);
	head[hl] = '\0';
	size_t n_surname = travel_name_parse(head, &surname) ? surname.n : 0;
	struct travel_name plain = doc;
	if (plain.n > n_surname)
		drop_title(&plain, false);
	enum travel_name_match m = compare(card_name, &plain, pass->name_full, BCBP_NAME_LEN, 0);
	if (m != TRAVEL_NAME_DIFFERENT || plain.n <= n_surname)
		return m;
	struct travel_name glued = plain;
	drop_title(&glued, true);
	return compare(card_name, &glued, pass->name_full, BCBP_NAME_LEN, 0);
}

const char *travel_name_match_name(enum travel_name_match m)
{
	switch (m) {
	case TRAVEL_NAME_EQUAL:
		return "equal";
	case TRAVEL_NAME_TRUNCATED:
		return "truncated";
	case TRAVEL_NAME_DIFFERENT:
		return "different";
	case TRAVEL_NAME_UNCOMPARABLE:
		return "uncomparable";
	}
	return "unknown";
}
