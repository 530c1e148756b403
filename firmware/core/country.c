/* SPDX-License-Identifier: Apache-2.0 */
/*
 * country.c - destination names (see country.h).  Sorted by code so the
 * lookup can bisect and a test can prove the order.  Bengali names in their
 * common Bangladeshi spelling; have a Bengali reader confirm any name added.
 */
#include "qrdesk/country.h"

#include <stdlib.h>
#include <string.h>

static const struct country countries[] = {
        {"AE", "United Arab Emirates", "সংযুক্ত আরব আমিরাত"},
        {"AL", "Albania", "আলবেনিয়া"},
        {"AU", "Australia", "অস্ট্রেলিয়া"},
        {"BG", "Bulgaria", "বুলগেরিয়া"},
        {"BH", "Bahrain", "বাহরাইন"},
        {"BN", "Brunei", "ব্রুনাই"},
        {"CA", "Canada", "কানাডা"},
        {"CY", "Cyprus", "সাইপ্রাস"},
        {"CZ", "Czechia", "চেক প্রজাতন্ত্র"},
        {"DE", "Germany", "জার্মানি"},
        {"EG", "Egypt", "মিশর"},
        {"ES", "Spain", "স্পেন"},
        {"GB", "United Kingdom", "যুক্তরাজ্য"},
        {"GR", "Greece", "গ্রিস"},
        {"HK", "Hong Kong", "হংকং"},
        {"HR", "Croatia", "ক্রোয়েশিয়া"},
        {"HU", "Hungary", "হাঙ্গেরি"},
        {"IQ", "Iraq", "ইরাক"},
        {"IT", "Italy", "ইতালি"},
        {"JO", "Jordan", "জর্ডান"},
        {"JP", "Japan", "জাপান"},
        {"KR", "South Korea", "দক্ষিণ কোরিয়া"},
        {"KW", "Kuwait", "কুয়েত"},
        {"LB", "Lebanon", "লেবানন"},
        {"LT", "Lithuania", "লিথুয়ানিয়া"},
        {"LY", "Libya", "লিবিয়া"},
        {"MK", "North Macedonia", "উত্তর মেসিডোনিয়া"},
        {"MT", "Malta", "মাল্টা"},
        {"MU", "Mauritius", "মরিশাস"},
        {"MV", "Maldives", "মালদ্বীপ"},
        {"MY", "Malaysia", "মালয়েশিয়া"},
        {"OM", "Oman", "ওমান"},
        {"PL", "Poland", "পোল্যান্ড"},
        {"PT", "Portugal", "পর্তুগাল"},
        {"QA", "Qatar", "কাতার"},
        {"RO", "Romania", "রোমানিয়া"},
        {"RS", "Serbia", "সার্বিয়া"},
        {"RU", "Russia", "রাশিয়া"},
        {"SA", "Saudi Arabia", "সৌদি আরব"},
        {"SC", "Seychelles", "সেশেলস"},
        {"SD", "Sudan", "সুদান"},
        {"SG", "Singapore", "সিঙ্গাপুর"},
        {"SK", "Slovakia", "স্লোভাকিয়া"},
        {"TH", "Thailand", "থাইল্যান্ড"},
        {"TR", "Türkiye", "তুরস্ক"},
        {"US", "United States", "মার্কিন যুক্তরাষ্ট্র"},
        {"ZA", "South Africa", "দক্ষিণ আফ্রিকা"},
};
#define COUNTRIES_N (sizeof(countries) / sizeof(countries[0]))

static int by_code(const void *key, const void *elem)
{
	return strcmp(key, ((const struct country *)elem)->code);
}

const struct country *country_find(const char *code)
{
	if (code == NULL || strlen(code) != 2)
		return NULL;
	return bsearch(code, countries, COUNTRIES_N, sizeof(countries[0]), by_code);
}

const struct country *country_table(size_t *count)
{
	*count = COUNTRIES_N;
	return countries;
}
