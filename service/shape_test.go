package service

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// TestShapeChecksMatchTheirPatterns: the hand-written checks of a contact
// phone and of a session token accept exactly what the patterns they
// replace accept, on edge cases and on random strings of the characters
// that matter.
func TestShapeChecksMatchTheirPatterns(t *testing.T) {
	cases := []struct {
		name    string
		pattern *regexp.Regexp
		check   func(string) bool
		chars   string // valid characters first, then a few that are not
		valid   int    // how many of chars are valid
		maxLen  int
		edges   []string
	}{
		{"contact phone", regexp.MustCompile(`^\+?[0-9][0-9-]{4,19}$`), contactPhoneValid, "-0123456789+a ", 11, 24,
			[]string{"", "+", "12345", "1234", "+12345", "++12345", "-1234", "0433-1234567", "13812345678",
				"12345678901234567890", "123456789012345678901", "+12345678901234567890", "1234\n", "１2345"}},
		{"session token", regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`), wellFormedToken, "aZ09_-+/=. ", 6, 46,
			[]string{"", "abc", "0123456789012345678901234567890123456789012", "0123456789012345678901234567890123456789012\n"}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		inputs := c.edges
		for range 20000 {
			b := make([]byte, rng.IntN(c.maxLen+1))
			alphabet := c.chars
			if rng.IntN(2) == 0 {
				alphabet = c.chars[:c.valid] // mostly well-formed lengths decide
			}
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			inputs = append(inputs, string(b))
		}
		for _, in := range inputs {
			if got, want := c.check(in), c.pattern.MatchString(in); got != want {
				t.Errorf("%s %q: %v, the pattern says %v", c.name, in, got, want)
			}
		}
	}
}
