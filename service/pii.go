// Package service holds Jindalai's business rules. It declares the small
// interfaces it needs; main passes the concrete store and WeChat clients in.
package service

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"unicode/utf8"
)

// PII encrypts personal data at rest (AES-256-GCM) and computes blind
// indexes (HMAC-SHA256 under a key derived from the same secret) so an
// encrypted value can be looked up by equality without decrypting.
type PII struct {
	aead     cipher.AEAD
	indexKey []byte
}

// NewPII returns a PII cipher for a 32-byte key.
func NewPII(key []byte) (*PII, error) {
	if len(key) != 32 {
		return nil, errors.New("pii: key must be 32 bytes")
	}
	encKey := derive(key, "jindalai pii encryption v1")
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("pii: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("pii: %w", err)
	}
	return &PII{aead: aead, indexKey: derive(key, "jindalai pii blind index v1")}, nil
}

func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Encrypt returns nonce || ciphertext of plain; "" encrypts to nil. The
// field name is bound as additional data, so a value cannot be moved to
// another column unnoticed.
func (p *PII) Encrypt(field, plain string) []byte {
	if plain == "" {
		return nil
	}
	nonce := make([]byte, p.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("pii: no randomness: " + err.Error())
	}
	return p.aead.Seal(nonce, nonce, []byte(plain), []byte(field))
}

// Decrypt reverses Encrypt; nil decrypts to "".
func (p *PII) Decrypt(field string, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	n := p.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("pii: ciphertext too short")
	}
	plain, err := p.aead.Open(nil, sealed[:n], sealed[n:], []byte(field))
	if err != nil {
		return "", fmt.Errorf("pii: %w", err)
	}
	return string(plain), nil
}

// Index returns the blind index of a value of field.
func (p *PII) Index(field, value string) []byte {
	m := hmac.New(sha256.New, p.indexKey)
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

// MaskPhone shows the first 3 and last 4 characters of a mobile-length
// number (11 characters or more: 138****5678), only the last 3 of a shorter
// one such as a landline (2510001 → ****001), and nothing of one shorter
// than 7.
func MaskPhone(phone string) string {
	switch {
	case phone == "":
		return ""
	case len(phone) < 7:
		return "****"
	case len(phone) < 11:
		return "****" + phone[len(phone)-3:]
	}
	return phone[:3] + "****" + phone[len(phone)-4:]
}

// MaskName keeps the first character of a name: 张**.
func MaskName(name string) string {
	r, size := utf8.DecodeRuneInString(name)
	if r == utf8.RuneError {
		return ""
	}
	n := utf8.RuneCountInString(name[size:])
	if n == 0 {
		n = 1
	}
	masked := string(r)
	for i := 0; i < n; i++ {
		masked += "*"
	}
	return masked
}
