package service

import (
	"bytes"
	"strings"
	"testing"
)

func testPII(t *testing.T) *PII {
	t.Helper()
	p, err := NewPII([]byte("test-only-pii-key-32-bytes-long!"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPIIRoundTripAndBinding(t *testing.T) {
	p := testPII(t)
	sealed := p.Encrypt("users.phone", "13812345678")
	if bytes.Contains(sealed, []byte("13812345678")) {
		t.Fatal("ciphertext contains the plain text")
	}
	if again := p.Encrypt("users.phone", "13812345678"); bytes.Equal(again, sealed) {
		t.Fatal("two encryptions are equal: nonce reused")
	}
	got, err := p.Decrypt("users.phone", sealed)
	if err != nil || got != "13812345678" {
		t.Fatalf("decrypt: %q %v", got, err)
	}
	if _, err := p.Decrypt("volunteers.phone", sealed); err == nil {
		t.Fatal("a value moved to another field must not decrypt")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := p.Decrypt("users.phone", sealed); err == nil {
		t.Fatal("tampered ciphertext decrypted")
	}
	if p.Encrypt("users.phone", "") != nil {
		t.Fatal("empty value must encrypt to nil")
	}
	if v, err := p.Decrypt("users.phone", nil); v != "" || err != nil {
		t.Fatalf("nil decrypts to %q %v", v, err)
	}
}

func TestPIIBlindIndex(t *testing.T) {
	p := testPII(t)
	a, b := p.Index("phone", "13812345678"), p.Index("phone", "13812345678")
	if !bytes.Equal(a, b) || len(a) != 32 {
		t.Fatal("index must be deterministic and 32 bytes")
	}
	if bytes.Equal(a, p.Index("phone", "13812345679")) || bytes.Equal(a, p.Index("name", "13812345678")) {
		t.Fatal("index must depend on value and field")
	}
	other, _ := NewPII([]byte("another-pii-key-of-32-bytes-long"))
	if bytes.Equal(a, other.Index("phone", "13812345678")) {
		t.Fatal("index must depend on the key")
	}
	if _, err := NewPII([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestMasks(t *testing.T) {
	cases := map[string]string{"13812345678": "138****5678", "": "", "123": "****", "+12345": "****",
		"2510001": "****001", "0433-251000": "043****1000", "043325100": "****100", "+8613812345678": "+86****5678"}
	for in, want := range cases {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
	names := map[string]string{"张三": "张*", "欧阳娜娜": "欧***", "李": "李*", "": ""}
	for in, want := range names {
		if got := MaskName(in); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRandomCodeUsesAlphabet(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		c := randomCode(inviteCodeLen)
		if len(c) != inviteCodeLen || strings.Trim(c, inviteAlphabet) != "" {
			t.Fatalf("code %q", c)
		}
		if seen[c] {
			t.Fatalf("code %q repeated", c)
		}
		seen[c] = true
	}
}
