package okta

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v3"
)

// parseRSAKey accepts an RSA private key as PKCS#1 ("RSA PRIVATE KEY") or
// PKCS#8 ("PRIVATE KEY", what Okta's admin console generates) PEM. SDK v2
// only understands PKCS#1, so oktasync signs client assertions itself.
// Errors never include key material.
func parseRSAKey(pemText string) (*rsa.PrivateKey, error) {
	pemText = strings.ReplaceAll(strings.TrimSpace(pemText), `\n`, "\n")
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("not a PEM private key (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("PKCS#1 RSA private key does not parse")
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("PKCS#8 private key does not parse")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("PKCS#8 key is %T; Okta service apps here need an RSA key", k)
		}
		return rk, nil
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
}

// signer builds the RS256 signer for client assertions, with the key id in
// the kid header when set.
func signer(pemText, keyID string) (jose.Signer, error) {
	key, err := parseRSAKey(pemText)
	if err != nil {
		return nil, err
	}
	opts := &jose.SignerOptions{}
	if keyID != "" {
		opts = opts.WithHeader("kid", keyID)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts.WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("build client-assertion signer: %w", err)
	}
	return s, nil
}
