package replica

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// rawCall66 makes a call with the token and returns the status, the
// Content-Type and the body.
func rawCall66(t *testing.T, method, u, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// Every error the API answers is a JSON body {"error", "code"} (the
// server's doc comment): a wrong method or an unknown path too.
func TestReview66ErrorsOfTheMuxAreJSON(t *testing.T) {
	c := newCluster(t, 1, nil)
	u := serve(t, c)[0]
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/put"},     // a write call read with GET
		{"POST", "/v1/get"},    // a read call with POST
		{"GET", "/v1/nothing"}, // no such call
		{"DELETE", "/v1/scan"}, // no such method
	} {
		st, ct, body := rawCall66(t, tc.method, u+tc.path, "")
		require.GreaterOrEqual(t, st, 400, "%s %s", tc.method, tc.path)
		var out map[string]any
		err := json.Unmarshal(body, &out)
		require.NoError(t, err, "%s %s: status %d, Content-Type %q, body %q: not JSON", tc.method, tc.path, st, ct, body)
		require.NotEmpty(t, out["code"], "%s %s: %s", tc.method, tc.path, body)
	}
}

// A body that is not one JSON document is refused (400) and nothing is
// written: json.Decoder.Decode stops after the first value, so trailing
// bytes went unread.
func TestReview66TrailingGarbageIsRefused(t *testing.T) {
	c := newCluster(t, 1, nil)
	u := serve(t, c)[0]
	for _, body := range []string{
		`{"run":"r","key":"k","value":1}garbage`,
		`{"run":"r","key":"k","value":1}{"run":"r","key":"k","value":2}`,
	} {
		st, _, out := rawCall66(t, "POST", u+"/v1/put", body)
		require.Equal(t, http.StatusBadRequest, st, "body %q answered %s", body, bytes.TrimSpace(out))
	}
	_, ok, err := c.leader().Get("r", "k", ReadOptions{})
	require.NoError(t, err)
	require.False(t, ok, "a put whose body was not one JSON document was written")
}
