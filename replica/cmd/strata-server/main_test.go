package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// freeAddr returns a loopback address with a free port.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// writeCerts writes a CA and a certificate for 127.0.0.1 it signs, as
// PEM files in dir, and returns the CA's pool.
func writeCerts(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	write := func(name, typ string, b []byte) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600))
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("node.pem", "CERTIFICATE", der)
	write("node-key.pem", "EC PRIVATE KEY", keyDER)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

// Two servers over TLS: one bootstraps, the other joins through it; a
// write on the second is forwarded to the leader and read back from the
// first; the token comes from a file.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	pool := writeCerts(t, dir)
	tokFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokFile, []byte("tok-123\n"), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	http1, raft1, http2, raft2 := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	tlsArgs := []string{"-tls-cert", filepath.Join(dir, "node.pem"), "-tls-key", filepath.Join(dir, "node-key.pem"), "-tls-ca", filepath.Join(dir, "ca.pem"), "-token-file", tokFile}
	errs := make(chan error, 2)
	go func() {
		errs <- run(ctx, append([]string{"-id", "n1", "-dir", filepath.Join(dir, "n1"), "-http", http1, "-raft", raft1, "-bootstrap"}, tlsArgs...), io.Discard)
	}()
	go func() {
		errs <- run(ctx, append([]string{"-id", "n2", "-dir", filepath.Join(dir, "n2"), "-http", http2, "-raft", raft2, "-join", http1}, tlsArgs...), io.Discard)
	}()
	defer func() {
		cancel()
		for range 2 {
			require.NoError(t, <-errs)
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	do := func(method, url, body string) (int, map[string]any) {
		req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer tok-123")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	// Wait for n2 to have joined (its status knows both members).
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, out := do("GET", "https://"+http2+"/v1/status", "")
		if st == 200 && len(out["members"].(map[string]any)) == 2 && out["members"].(map[string]any)["n2"] == http2 && out["leader_http"] == http1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "n2 did not join: %v", out)
		time.Sleep(20 * time.Millisecond)
	}
	st, out := do("POST", "https://"+http2+"/v1/put", `{"run":"r","key":"k","value":{"a":[1,2]}}`)
	require.Equal(t, 200, st, "%v", out)
	st, out = do("GET", "https://"+http1+"/v1/get?run=r&key=k", "")
	require.Equal(t, 200, st, "%v", out)
	require.Equal(t, map[string]any{"a": []any{1.0, 2.0}}, out["value"])

	// Plain HTTP to a TLS server gets nowhere.
	resp, err := http.Get("http://" + http1 + "/v1/status")
	if err == nil {
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	}
}

func TestFlags(t *testing.T) {
	_, err := parse([]string{}, io.Discard)
	require.ErrorContains(t, err, "-id")
	_, err = parse([]string{"-id", "a", "-tls-cert", "x"}, io.Discard)
	require.ErrorContains(t, err, "TLS")
	_, err = parse([]string{"-id", "a", "extra"}, io.Discard)
	require.Error(t, err)
	o, err := parse([]string{"-id", "a"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7070", o.httpAddr, "localhost unless told otherwise")
	require.Equal(t, "127.0.0.1:7071", o.raftAddr)
	t.Setenv("STRATA_TOKEN", "")
	_, err = token(o)
	require.ErrorContains(t, err, "STRATA_TOKEN")
	t.Setenv("STRATA_TOKEN", " t1 ")
	tok, err := token(o)
	require.NoError(t, err)
	require.Equal(t, "t1", tok)
	err = run(context.Background(), []string{"-id", "a", "-dir", t.TempDir(), "-token-file", "/nonexistent"}, io.Discard)
	require.Error(t, err)
}
