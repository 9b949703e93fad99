package replica

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

const testToken = "s3cret-token"

// serve starts an HTTP server for each node of c and records the
// addresses in the cluster; it returns their base URLs.
func serve(t *testing.T, c *cluster) []string {
	t.Helper()
	urls := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv, err := NewServer(ServerConfig{Node: nd, Token: testToken, HTTPAddr: ln.Addr().String()})
		require.NoError(t, err)
		hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: srv}}
		hs.Start()
		t.Cleanup(hs.Close)
		urls[i] = hs.URL
		require.NoError(t, c.leader().SetMember(nd.ID(), ln.Addr().String()))
	}
	last, err := c.leader().LastVersion(ReadOptions{})
	require.NoError(t, err)
	c.caughtUp(last)
	return urls
}

// call makes an API call and decodes the JSON answer.
func call(t *testing.T, method, u, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func TestServerAPI(t *testing.T) {
	c := newCluster(t, 3, nil)
	urls := serve(t, c)
	leader := c.index(c.leader())
	follower := (leader + 1) % 3
	other := (leader + 2) % 3
	f, o := urls[follower], urls[other]

	// Writes on a follower are forwarded to the leader.
	st, out := call(t, "POST", f+"/v1/put", testToken, map[string]any{"run": "r", "key": "a", "value": 1})
	require.Equal(t, 200, st, "%v", out)
	v1 := out["version"].(float64)
	st, out = call(t, "POST", o+"/v1/incr", testToken, map[string]any{"run": "r", "key": "n", "delta": 3})
	require.Equal(t, 200, st, "%v", out)
	require.EqualValues(t, 3, out["value"])
	st, out = call(t, "POST", f+"/v1/cas", testToken, map[string]any{"run": "r", "key": "a", "value": "two", "expected_version": v1})
	require.Equal(t, 200, st, "%v", out)
	require.Equal(t, true, out["swapped"])
	st, out = call(t, "POST", f+"/v1/cas", testToken, map[string]any{"run": "r", "key": "a", "value": "x", "expected_value": 1})
	require.Equal(t, 200, st, "%v", out)
	require.Equal(t, false, out["swapped"])
	st, out = call(t, "POST", f+"/v1/cas", testToken, map[string]any{"run": "r", "key": "new", "value": "x", "expected_absent": true})
	require.Equal(t, 200, st, "%v", out)
	require.Equal(t, true, out["swapped"], "only if absent")
	st, out = call(t, "POST", f+"/v1/put", testToken, map[string]any{"run": "r", "key": "nul", "value": nil})
	require.Equal(t, 200, st, "%v", out)
	st, out = call(t, "POST", f+"/v1/cas", testToken, map[string]any{"run": "r", "key": "nul", "value": 1, "expected_value": nil})
	require.Equal(t, 200, st, "%v", out)
	require.Equal(t, true, out["swapped"], "null: the Null value")

	// Linearizable reads on a follower are forwarded too.
	st, out = call(t, "GET", o+"/v1/get?run=r&key=a", testToken, nil)
	require.Equal(t, 200, st, "%v", out)
	require.Equal(t, "two", out["value"])
	st, out = call(t, "GET", o+"/v1/history?run=r&key=a", testToken, nil)
	require.Equal(t, 200, st, "%v", out)
	require.Len(t, out["versions"], 2)
	st, out = call(t, "GET", f+"/v1/scan?run=r", testToken, nil)
	require.Equal(t, 200, st, "%v", out)
	require.Len(t, out["entries"], 4)
	st, out = call(t, "GET", f+"/v1/changes?run=r&after=0", testToken, nil)
	require.Equal(t, 200, st, "%v", out)
	require.Len(t, out["changes"], 6)
	st, out = call(t, "POST", f+"/v1/delete", testToken, map[string]any{"run": "r", "key": "new"})
	require.Equal(t, 200, st, "%v", out)
	require.Equal(t, true, out["deleted"])
	st, _ = call(t, "GET", f+"/v1/get?run=r&key=new", testToken, nil)
	require.Equal(t, 404, st)

	// A stale read is answered by the follower itself.
	last, err := c.leader().LastVersion(ReadOptions{})
	require.NoError(t, err)
	c.caughtUp(last)
	st, out = call(t, "GET", f+"/v1/get?run=r&key=n&stale=1", testToken, nil)
	require.Equal(t, 200, st, "%v", out)
	require.EqualValues(t, 3, out["value"])

	// Errors.
	st, out = call(t, "POST", f+"/v1/put", testToken, map[string]any{"run": "r", "key": "", "value": 1})
	require.Equal(t, 400, st, "%v", out)
	st, out = call(t, "POST", f+"/v1/incr", testToken, map[string]any{"run": "r", "key": "a", "delta": 1})
	require.Equal(t, 409, st, "%v", out)
	require.Equal(t, "wrong_type", out["code"])
	st, _ = call(t, "POST", f+"/v1/put", testToken, map[string]any{"run": "r", "key": "k", "value": 1, "bogus": 2})
	require.Equal(t, 400, st, "unknown fields are refused")
	st, _ = call(t, "POST", f+"/v1/put", testToken, map[string]any{"run": "r", "key": "k", "value": 1, "expected_version": 2})
	require.Equal(t, 400, st, "a field of another call is refused, not ignored")
	st, _ = call(t, "POST", f+"/v1/incr", testToken, map[string]any{"run": "r", "key": "n"})
	require.Equal(t, 400, st, "incr without a delta")

	// Status names the leader everywhere.
	st, out = call(t, "GET", f+"/v1/status", testToken, nil)
	require.Equal(t, 200, st)
	require.Equal(t, c.nodes[leader].ID(), out["leader_id"])
	require.Len(t, out["members"], 3)
}

// Nobody gets in uninvited: a call without the token or with a wrong one
// is refused, and nothing is written.
func TestServerNeedsToken(t *testing.T) {
	c := newCluster(t, 1, nil)
	urls := serve(t, c)
	before, err := c.leader().LastVersion(ReadOptions{})
	require.NoError(t, err)
	for _, tok := range []string{"", "wrong", testToken + "x", strings.ToUpper(testToken)} {
		for _, u := range []string{"/v1/put", "/v1/join"} {
			st, out := call(t, "POST", urls[0]+u, tok, map[string]any{"run": "r", "key": "k", "value": 1, "id": "evil", "raft_addr": "127.0.0.1:1", "http_addr": "127.0.0.1:1"})
			require.Equal(t, 401, st, "token %q: %v", tok, out)
		}
		st, _ := call(t, "GET", urls[0]+"/v1/get?run=r&key=k", tok, nil)
		require.Equal(t, 401, st)
	}
	after, err := c.leader().LastVersion(ReadOptions{})
	require.NoError(t, err)
	require.Equal(t, before, after, "nothing written")
	m, err := c.leader().Members()
	require.NoError(t, err)
	require.Len(t, m, 1, "nobody joined")
	_, err = NewServer(ServerConfig{Node: c.leader()})
	require.Error(t, err, "a server without a token")
}

// certs is a test CA and certificates it signs for 127.0.0.1.
type certs struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	pool  *x509.CertPool
}

func newCerts(t *testing.T) *certs {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "strata test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &certs{ca: ca, caKey: key, pool: pool}
}

// config returns a mutual-TLS configuration with a certificate the CA
// signs for 127.0.0.1.
func (c *certs) config(t *testing.T, name string) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.ca, &key.PublicKey, c.caKey)
	require.NoError(t, err)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		RootCAs:      c.pool, ClientCAs: c.pool, ClientAuth: tls.RequireAndVerifyClientCert,
		MinVersion: tls.VersionTLS12,
	}
}

// Raft traffic between nodes is mutual TLS: the cluster replicates, and
// a node whose certificate the CA did not sign is refused by the
// handshake, so it can neither join nor write.
func TestClusterTLS(t *testing.T) {
	ca := newCerts(t)
	c := &cluster{t: t, dir: t.TempDir(), part: NewPartition()}
	c.nodes, c.addrs = make([]*Node, 3), make([]string, 3)
	for i := range 3 {
		nd, err := Open(Config{
			ID: fmt.Sprintf("n%d", i), Dir: fmt.Sprintf("%s/n%d", c.dir, i), RaftAddr: "127.0.0.1:0",
			Bootstrap: i == 0, Tune: fastRaft, RaftTLS: ca.config(t, fmt.Sprintf("n%d", i)), Secret: testSecret,
		})
		require.NoError(t, err)
		c.nodes[i], c.addrs[i] = nd, nd.RaftAddr()
	}
	t.Cleanup(c.closeAll)
	leader := c.leader()
	for i := 1; i < 3; i++ {
		require.NoError(t, leader.Join(c.nodes[i].ID(), c.addrs[i]))
	}
	v := c.put("r", "k", kv.Int(1))
	c.caughtUp(v)

	// A rogue node with a certificate of its own CA.
	rogue := newCerts(t).config(t, "rogue")
	conn, err := tls.Dial("tcp", c.addrs[0], rogue)
	if err == nil {
		// TLS 1.3 reports a refused client certificate on the first read.
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	require.Error(t, err, "the handshake refuses an untrusted certificate")
	rn, err := Open(Config{ID: "rogue", Dir: c.dir + "/rogue", RaftAddr: "127.0.0.1:0", Tune: fastRaft, RaftTLS: rogue, Secret: testSecret})
	require.NoError(t, err)
	defer rn.Close()
	// Even added by the leader, it gets nothing: every connection fails
	// (the three others commit without it).
	require.NoError(t, leader.Join("rogue", rn.RaftAddr()))
	v = c.put("r", "k2", kv.Int(2))
	c.caughtUp(v)
	got, err := rn.LastVersion(ReadOptions{Stale: true})
	require.NoError(t, err)
	require.Zero(t, got, "the rogue node received no data")
	_, err = rn.Put("r", "evil", kv.Int(1))
	require.Error(t, err)
	_, ok, err := c.leader().Get("r", "evil", ReadOptions{})
	if err == nil {
		require.False(t, ok, "nothing written")
	}
}
