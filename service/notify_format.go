package service

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"jindalai/model"
)

// WeChat's limits on subscribe-message values, by keyword type
// (subscribeMessage.send, "订阅消息参数值内容限制说明"). WeChat rejects a
// value that breaks them (errcode 47003), so every value is made to fit.
const (
	wxMaxThing           = 20 // any characters
	wxMaxPhrase          = 5  // Chinese characters only
	wxMaxCharacterString = 32 // digits, letters, symbols
	wxMaxNumber          = 32 // digits, optionally a decimal point
	wxMaxLetter          = 32 // letters only
	wxMaxSymbol          = 5  // symbols only
	wxMaxNameHan         = 10 // a name with any Chinese character
	wxMaxNameLatin       = 20 // a name of letters and symbols only
	wxMaxPhone           = 17 // digits and symbols
	wxMaxCarNumber       = 8
	wxMaxAmount          = 14 // a currency sign, 10 digits, 2 decimals, "元"
)

// valueEllipsis marks a cut thing value.
const valueEllipsis = "…"

// templateValues fills a template's keywords from a claimed notification:
// each keyword takes the notification's data value it names ("title" and
// "body" fall back to the notification's own title and body), fitted to the
// keyword's type.
func templateValues(fields map[string]string, it model.OutboxItem, loc *time.Location) map[string]string {
	out := make(map[string]string, len(fields))
	for keyword, key := range fields {
		v := it.Data[key]
		if v == "" {
			switch key {
			case "title":
				v = it.Title
			case "body":
				v = it.Body
			}
		}
		out[keyword] = fitValue(keyword, v, it.CreatedAt.In(loc))
	}
	return out
}

// keywordType is the value type of a keyword: "thing" of "thing12".
func keywordType(keyword string) string {
	return strings.TrimRightFunc(keyword, func(r rune) bool { return r >= '0' && r <= '9' })
}

// fitValue makes v a valid value for keyword (by its type): control
// characters become spaces, characters the type does not allow are dropped,
// and the value is cut on a rune boundary to the type's limit. Only thing
// values, which may mix any characters, end a cut with "…"; the other types
// have no room for it (a phrase is pure Chinese, a character_string pure
// ASCII) and are cut plainly. WeChat rejects empty values, so an empty one
// becomes a neutral placeholder; an empty or unreadable time or date is the
// notification's creation time.
func fitValue(keyword, v string, created time.Time) string {
	v = strings.Join(strings.FieldsFunc(v, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
	}), " ")
	switch keywordType(keyword) {
	case "thing":
		return valueOr(valueCutEllipsis(v, wxMaxThing), "无")
	case "phrase":
		return valueOr(valueCut(valueKeep(v, runeIsHan), wxMaxPhrase), "有更新")
	case "character_string":
		return valueOr(valueCut(valueKeep(v, runeIsASCIIGraphic), wxMaxCharacterString), "-")
	case "number":
		return valueOr(valueCut(valueDigits(v), wxMaxNumber), "0")
	case "letter":
		return valueOr(valueCut(valueKeep(v, runeIsASCIILetter), wxMaxLetter), "NA")
	case "symbol":
		return valueOr(valueCut(valueKeep(v, runeIsASCIISymbol), wxMaxSymbol), "-")
	case "name":
		if strings.ContainsFunc(v, runeIsHan) {
			return valueCut(v, wxMaxNameHan)
		}
		return valueOr(valueCut(v, wxMaxNameLatin), "-")
	case "phone_number":
		return valueOr(valueCut(valueKeep(v, func(r rune) bool { return runeIsASCIIGraphic(r) && !runeIsASCIILetter(r) }), wxMaxPhone), "-")
	case "car_number":
		return valueOr(valueCut(v, wxMaxCarNumber), "-")
	case "amount":
		return valueOr(valueCut(v, wxMaxAmount), "0元")
	case "time":
		return fitTimeValue(v, created, false)
	case "date":
		return fitTimeValue(v, created, true)
	case "enum":
		return valueOr(v, "-")
	}
	return valueOr(valueCutEllipsis(v, wxMaxThing), "-")
}

// valueTimeLayouts are the forms our data carries times in ("2006-01-02
// 15:04" in the configured zone, by convention); "15:04" is accepted as the
// end of a range.
var valueTimeLayouts = []string{"2006-01-02 15:04", "2006-01-02 15:04:05", time.RFC3339, "2006-01-02T15:04", "2006-01-02", "15:04"}

// Layouts of WeChat's documented examples ("2019年10月1日 15:01").
const (
	wxDateTimeLayout = "2006年1月2日 15:04"
	wxDateLayout     = "2006年1月2日"
)

// fitTimeValue renders a time, or a range "a~b", the way WeChat's examples
// show it: a time keyword always with its clock time, a date keyword
// without it when the value has none (a bare date, or midnight). A value we
// cannot read is replaced by created.
func fitTimeValue(v string, created time.Time, isDate bool) string {
	parts := strings.Split(v, "~")
	if len(parts) > 2 {
		parts = parts[:1]
	}
	out := make([]string, 0, len(parts))
	for i, p := range parts {
		t, layout, ok := parseValueTime(strings.TrimSpace(p), created.Location())
		switch {
		case !ok || (layout == "15:04" && i == 0):
			return created.Format(wxDateTimeLayout)
		case layout == "15:04":
			out = append(out, t.Format("15:04"))
		case isDate && t.Hour() == 0 && t.Minute() == 0:
			out = append(out, t.Format(wxDateLayout))
		default:
			out = append(out, t.Format(wxDateTimeLayout))
		}
	}
	return strings.Join(out, "~")
}

func parseValueTime(s string, loc *time.Location) (time.Time, string, bool) {
	for _, layout := range valueTimeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.In(loc), layout, true
		}
	}
	return time.Time{}, "", false
}

// valueCut keeps at most n runes of s.
func valueCut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:n]), unicode.IsSpace)
}

// valueCutEllipsis keeps at most n runes of s, the last being "…" when cut.
func valueCutEllipsis(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return valueCut(s, n-1) + valueEllipsis
}

func valueKeep(s string, ok func(rune) bool) string {
	return strings.Map(func(r rune) rune {
		if ok(r) {
			return r
		}
		return -1
	}, s)
}

// valueDigits keeps the digits of s and its first decimal point.
func valueDigits(s string) string {
	dot := false
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return r
		case r == '.' && !dot:
			dot = true
			return r
		}
		return -1
	}, s)
}

func valueOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func runeIsHan(r rune) bool          { return unicode.Is(unicode.Han, r) }
func runeIsASCIIGraphic(r rune) bool { return r > ' ' && r < 0x7f }
func runeIsASCIILetter(r rune) bool  { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }
func runeIsASCIISymbol(r rune) bool {
	return runeIsASCIIGraphic(r) && !runeIsASCIILetter(r) && !(r >= '0' && r <= '9')
}
