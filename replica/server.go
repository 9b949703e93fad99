package replica

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/strata-kv/strata/kv"
)

// The HTTP/JSON API a Server serves (every call needs the header
// "Authorization: Bearer TOKEN"):
//
//	GET  /v1/get?run=R&key=K[&at=V]          {"found", "value", "version", "timestamp"}
//	GET  /v1/history?run=R&key=K[&limit=N][&before=V]   {"versions": [...]}
//	GET  /v1/scan?run=R[&prefix=P][&limit=N][&cursor=C]  {"entries": [...], "cursor"}
//	GET  /v1/changes?run=R[&prefix=P][&after=V][&limit=N] {"changes": [...]}
//	POST /v1/put     {"run", "key", "value"}                         {"version"}
//	POST /v1/delete  {"run", "key"}                                  {"deleted"}
//	POST /v1/incr    {"run", "key", "delta"}                         {"value"}
//	POST /v1/cas     {"run", "key", "value", and one of "expected_version",
//	                 "expected_value" (null: the Null value), "expected_absent": true}
//	                                                                 {"swapped"}
//	POST /v1/join    {"id", "raft_addr", "http_addr"}  (a node joins the cluster)
//	POST /v1/leave   {"id"}
//	GET  /v1/status  {"id", "leader_id", "leader_http", "is_leader", "last_version", "members"}
//
// Reads are linearizable unless the query says stale=1 (any node answers
// from what it has applied). A follower forwards writes, joins and
// linearizable reads to the leader; if it cannot (no leader known, or
// the request was forwarded once already) it answers 503 with the
// leader's address, if known. Values are kv.Value's JSON. Errors are
// {"error": message, "code": name} with a status: 400 invalid input, 401
// no or wrong token, 404 not found, 409 conflict or wrong type or
// overflow, 410 history trimmed, 503 not the leader, 504 outcome unknown
// or (a stale get at a version) not applied on this node in time. A body
// that is not valid UTF-8 is refused (400), not read with its bad bytes
// replaced.

// ServerConfig configures a Server.
type ServerConfig struct {
	Node *Node
	// Token is the bearer token every call must carry (required).
	Token string
	// HTTPAddr is the host:port other nodes reach this server at.
	HTTPAddr string
	// Scheme is "https" when the servers serve TLS ("" or "http": plain).
	Scheme string
	// Client forwards requests to the leader (nil: a client with a 30 s
	// timeout; give one with the cluster's CA for https).
	Client *http.Client
}

// Server serves a Node's kv API over HTTP/JSON (see the API above).
type Server struct {
	cfg ServerConfig
	mux *http.ServeMux
}

// maxBody bounds a request's body.
const maxBody = 64 << 20

// forwardedHeader marks a request a follower forwarded (it is forwarded
// at most once).
const forwardedHeader = "X-Strata-Forwarded"

// NewServer returns a Server for cfg.Node.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Node == nil {
		return nil, errors.New("replica: ServerConfig needs a Node")
	}
	if cfg.Token == "" {
		return nil, errors.New("replica: ServerConfig needs a Token: every call must carry it")
	}
	if cfg.Scheme == "" {
		cfg.Scheme = "http"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /v1/get", s.handleGet)
	s.mux.HandleFunc("GET /v1/history", s.reader(s.history))
	s.mux.HandleFunc("GET /v1/scan", s.reader(s.scan))
	s.mux.HandleFunc("GET /v1/changes", s.reader(s.changes))
	s.mux.HandleFunc("POST /v1/put", s.write(s.handlePut))
	s.mux.HandleFunc("POST /v1/delete", s.write(s.handleDelete))
	s.mux.HandleFunc("POST /v1/incr", s.write(s.handleIncr))
	s.mux.HandleFunc("POST /v1/cas", s.write(s.handleCAS))
	s.mux.HandleFunc("POST /v1/join", s.write(s.handleJoin))
	s.mux.HandleFunc("POST /v1/leave", s.write(s.handleLeave))
	s.mux.HandleFunc("GET /v1/status", s.handleStatus)
	// What no pattern above matches: a JSON error with a code, as every
	// other error (review 66: the mux answered in plain text).
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/get", "/v1/history", "/v1/scan", "/v1/changes", "/v1/status":
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Errorf("%s %s: use GET", r.Method, r.URL.Path))
		case "/v1/put", "/v1/delete", "/v1/incr", "/v1/cas", "/v1/join", "/v1/leave":
			w.Header().Set("Allow", "POST")
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Errorf("%s %s: use POST", r.Method, r.URL.Path))
		default:
			writeError(w, http.StatusNotFound, "not_found", fmt.Errorf("no such call: %s", r.URL.Path))
		}
	})
	return s, nil
}

// ServeHTTP checks the token, then serves the call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="strata"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", errors.New("a valid bearer token is required"))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Register records this server's HTTP address in the cluster (so that
// followers can forward to it) once it leads or once the record is
// there; it returns when done or when ctx ends. A node that joined
// through /v1/join is registered by the leader.
func (s *Server) Register(ctx context.Context) error {
	n := s.cfg.Node
	for {
		if addr, ok := n.MemberAddr(n.ID()); ok && addr == s.cfg.HTTPAddr {
			return nil
		}
		if n.IsLeader() {
			if err := n.SetMember(n.ID(), s.cfg.HTTPAddr); err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// write wraps a handler that changes the cluster: on a follower it
// forwards the request to the leader.
func (s *Server) write(h func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil || len(body) > maxBody {
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Errorf("request body unreadable or above %d bytes", maxBody))
			return
		}
		if !s.cfg.Node.IsLeader() {
			s.forward(w, r, body)
			return
		}
		h(w, r, body)
	}
}

// forward sends the request to the leader and copies its answer back;
// it answers 503 when it cannot.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	n := s.cfg.Node
	id, raftAddr := n.Leader()
	addr, ok := n.MemberAddr(id)
	// A node that just joined may not have applied the leader's record
	// yet: give it a moment.
	for wait := 0; id != "" && !ok && wait < 40; wait++ {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		id, raftAddr = n.Leader()
		addr, ok = n.MemberAddr(id)
	}
	if id == "" || !ok || r.Header.Get(forwardedHeader) != "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{
			"error": "not the leader", "code": "not_leader", "leader_id": id, "leader_raft": raftAddr, "leader_http": addr,
		})
		return
	}
	u := s.cfg.Scheme + "://" + addr + r.URL.RequestURI()
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u, bytes.NewReader(body))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err)
		return
	}
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(forwardedHeader, n.ID())
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		if r.Method != http.MethodGet {
			// The leader may have applied the write before its answer
			// was lost: a client must not take it for "not written".
			writeError(w, http.StatusGatewayTimeout, "outcome_unknown", fmt.Errorf("%w: forwarding to the leader %s: %v", ErrUnknownOutcome, id, err))
			return
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{
			"error": "forwarding to the leader: " + err.Error(), "code": "not_leader", "leader_id": id, "leader_http": addr,
		})
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// readOpts reads the stale flag; a linearizable read on a follower is
// forwarded (it reports false then, having answered).
func (s *Server) readOpts(w http.ResponseWriter, r *http.Request) (ReadOptions, bool) {
	ro := ReadOptions{Stale: r.URL.Query().Get("stale") == "1" || r.URL.Query().Get("stale") == "true"}
	if !ro.Stale && !s.cfg.Node.IsLeader() {
		s.forward(w, r, nil)
		return ro, false
	}
	return ro, true
}

// versioned is a version as the API writes it.
type versioned struct {
	Key       string    `json:"key,omitempty"`
	Value     kv.Value  `json:"value"`
	Version   uint64    `json:"version"`
	Timestamp time.Time `json:"timestamp"`
	Deleted   bool      `json:"deleted,omitempty"`
}

func toJSON(key string, v kv.Versioned) versioned {
	return versioned{Key: key, Value: v.Value, Version: uint64(v.Version), Timestamp: v.Timestamp, Deleted: v.Deleted}
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	ro, ok := s.readOpts(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	run, key := kv.RunID(q.Get("run")), q.Get("key")
	if q.Has("at") {
		at, err := uintParam(q.Get("at"))
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", err)
			return
		}
		v, err := s.cfg.Node.GetAt(run, key, kv.Version(at), ro)
		if err != nil {
			writeKVError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"found": true, "value": v.Value, "version": v.Version, "timestamp": v.Timestamp})
		return
	}
	v, found, err := s.cfg.Node.Get(run, key, ro)
	if err != nil {
		writeKVError(w, err)
		return
	}
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]any{"found": false, "error": "not found", "code": "not_found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"found": true, "value": v.Value, "version": v.Version, "timestamp": v.Timestamp})
}

// reader serves a read call: fn answers it from the query, with the
// read's options, as the JSON body of a 200.
func (s *Server) reader(fn func(q url.Values, ro ReadOptions) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ro, ok := s.readOpts(w, r)
		if !ok {
			return
		}
		out, err := fn(r.URL.Query(), ro)
		if err != nil {
			writeKVError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) history(q url.Values, ro ReadOptions) (any, error) {
	limit, err1 := intParam(q.Get("limit"))
	before, err2 := uintParam(q.Get("before"))
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	h, err := s.cfg.Node.History(kv.RunID(q.Get("run")), q.Get("key"), limit, kv.Version(before), ro)
	if err != nil {
		return nil, err
	}
	out := make([]versioned, len(h))
	for i, v := range h {
		out[i] = toJSON("", v)
	}
	return map[string]any{"versions": out}, nil
}

func (s *Server) scan(q url.Values, ro ReadOptions) (any, error) {
	limit, err := intParam(q.Get("limit"))
	if err != nil {
		return nil, err
	}
	p, err := s.cfg.Node.Scan(kv.RunID(q.Get("run")), q.Get("prefix"), limit, q.Get("cursor"), ro)
	if err != nil {
		return nil, err
	}
	out := make([]versioned, len(p.Entries))
	for i, e := range p.Entries {
		out[i] = toJSON(e.Key, e.Versioned)
	}
	return map[string]any{"entries": out, "cursor": p.Cursor}, nil
}

func (s *Server) changes(q url.Values, ro ReadOptions) (any, error) {
	after, err1 := uintParam(q.Get("after"))
	limit, err2 := intParam(q.Get("limit"))
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	cs, err := s.cfg.Node.Changes(kv.RunID(q.Get("run")), q.Get("prefix"), kv.Version(after), limit, ro)
	if err != nil {
		return nil, err
	}
	out := make([]versioned, len(cs))
	for i, c := range cs {
		out[i] = toJSON(c.Key, c.Versioned)
	}
	return map[string]any{"changes": out}, nil
}

// The bodies of the write calls (a field another call takes is refused).
type (
	keyReq struct {
		Run kv.RunID `json:"run"`
		Key string   `json:"key"`
	}
	putReq struct {
		Run   kv.RunID        `json:"run"`
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"` // null is the Null value
	}
	incrReq struct {
		Run   kv.RunID `json:"run"`
		Key   string   `json:"key"`
		Delta *int64   `json:"delta"`
	}
	casReq struct {
		Run             kv.RunID        `json:"run"`
		Key             string          `json:"key"`
		Value           json.RawMessage `json:"value"`
		ExpectedVersion *uint64         `json:"expected_version"`
		ExpectedValue   json.RawMessage `json:"expected_value"`
		ExpectedAbsent  bool            `json:"expected_absent"`
	}
)

// value decodes a JSON value that must be there.
func value(name string, raw json.RawMessage) (kv.Value, error) {
	var v kv.Value
	if len(raw) == 0 {
		return v, fmt.Errorf("%w: the call needs %q", kv.ErrInvalidValue, name)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("%w: %s: %v", kv.ErrInvalidValue, name, err)
	}
	return v, nil
}

func decode(w http.ResponseWriter, body []byte, into any) bool {
	if !utf8.Valid(body) {
		// encoding/json would replace each bad byte with U+FFFD: a key
		// the client did not name would be written.
		writeError(w, http.StatusBadRequest, "bad_request", errors.New("request body: not valid UTF-8"))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Errorf("request body: %w", err))
		return false
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		// More after the request's one document (review 66: it was
		// ignored, and the write applied).
		writeError(w, http.StatusBadRequest, "bad_request", errors.New("request body: more than one JSON document"))
		return false
	}
	return true
}

func (s *Server) handlePut(w http.ResponseWriter, r *http.Request, body []byte) {
	var q putReq
	if !decode(w, body, &q) {
		return
	}
	val, err := value("value", q.Value)
	if err != nil {
		writeKVError(w, err)
		return
	}
	v, err := s.cfg.Node.Put(q.Run, q.Key, val)
	if err != nil {
		writeKVError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": v})
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, body []byte) {
	var q keyReq
	if !decode(w, body, &q) {
		return
	}
	ok, err := s.cfg.Node.Delete(q.Run, q.Key)
	if err != nil {
		writeKVError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": ok})
}

func (s *Server) handleIncr(w http.ResponseWriter, r *http.Request, body []byte) {
	var q incrReq
	if !decode(w, body, &q) {
		return
	}
	if q.Delta == nil {
		writeError(w, http.StatusBadRequest, "bad_request", errors.New(`incr needs a "delta"`))
		return
	}
	n, err := s.cfg.Node.Incr(q.Run, q.Key, *q.Delta)
	if err != nil {
		writeKVError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": n})
}

func (s *Server) handleCAS(w http.ResponseWriter, r *http.Request, body []byte) {
	var q casReq
	if !decode(w, body, &q) {
		return
	}
	val, err := value("value", q.Value)
	var ok bool
	switch given := btoi(q.ExpectedVersion != nil) + btoi(len(q.ExpectedValue) > 0) + btoi(q.ExpectedAbsent); {
	case err != nil:
	case given != 1:
		err = fmt.Errorf("%w: give one of expected_version, expected_value and expected_absent", kv.ErrInvalidValue)
	case q.ExpectedVersion != nil:
		ok, err = s.cfg.Node.CompareAndSwapVersion(q.Run, q.Key, kv.Version(*q.ExpectedVersion), val)
	case q.ExpectedAbsent:
		ok, err = s.cfg.Node.CompareAndSwapValue(q.Run, q.Key, nil, val)
	default:
		var expected kv.Value
		if expected, err = value("expected_value", q.ExpectedValue); err == nil {
			ok, err = s.cfg.Node.CompareAndSwapValue(q.Run, q.Key, &expected, val)
		}
	}
	if err != nil {
		writeKVError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"swapped": ok})
}

// joinReq is the body of /v1/join and /v1/leave.
type joinReq struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request, body []byte) {
	var q joinReq
	if !decode(w, body, &q) {
		return
	}
	if err := checkMember(q); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err)
		return
	}
	if err := s.cfg.Node.Join(q.ID, q.RaftAddr); err != nil {
		writeKVError(w, err)
		return
	}
	if err := s.cfg.Node.SetMember(q.ID, q.HTTPAddr); err != nil {
		writeKVError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"joined": q.ID})
}

// checkMember refuses a join whose ID or addresses are not usable, before
// anything changes.
func checkMember(q joinReq) error {
	if !validID(q.ID) {
		return fmt.Errorf("join: node ID %q: want 1 to 64 letters, digits, '.', '_' or '-'", q.ID)
	}
	for _, a := range []string{q.RaftAddr, q.HTTPAddr} {
		if _, _, err := net.SplitHostPort(a); err != nil || len(a) > 256 {
			return fmt.Errorf("join: address %q: want host:port", a)
		}
	}
	return nil
}

// validID reports whether id is a usable node ID.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request, body []byte) {
	var q joinReq
	if !decode(w, body, &q) {
		return
	}
	if q.ID == "" {
		writeError(w, http.StatusBadRequest, "bad_request", errors.New("leave needs id"))
		return
	}
	if !validID(q.ID) {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Errorf("leave: %q is not a node id", q.ID))
		return
	}
	n := s.cfg.Node
	// An ID that is no voter (a typo, a node that left) is refused with
	// nothing written: raft's RemoveServer does nothing for it, and the
	// caller was told a node left that is still a voter (review 56). A
	// member record without a voter (a leave whose record failed) is
	// cleared.
	members, err := n.Members()
	if err != nil {
		writeKVError(w, err)
		return
	}
	if _, voter := members[q.ID]; !voter {
		if _, recorded := n.MemberAddr(q.ID); !recorded {
			writeError(w, http.StatusNotFound, "not_found", fmt.Errorf("leave: %s is not a member of the cluster", q.ID))
			return
		}
	}
	if q.ID == n.ID() {
		// The leader leaving: once its removal commits, raft shuts it
		// down (ShutdownOnRemove), so nothing can go through its log
		// after the Leave. The member's record goes first, and is put
		// back if the Leave fails.
		prev, _ := n.MemberAddr(q.ID)
		if err := n.SetMember(q.ID, ""); err != nil {
			writeKVError(w, err)
			return
		}
		if err := n.Leave(q.ID); err != nil {
			if prev != "" {
				n.SetMember(q.ID, prev) // best effort: the Leave's error is the answer
			}
			writeKVError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"left": q.ID})
		return
	}
	if err := n.Leave(q.ID); err != nil {
		writeKVError(w, err)
		return
	}
	if err := n.SetMember(q.ID, ""); err != nil {
		writeKVError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"left": q.ID})
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	n := s.cfg.Node
	id, _ := n.Leader()
	leaderHTTP, _ := n.MemberAddr(id)
	last, _ := n.LastVersion(ReadOptions{Stale: true})
	members := map[string]string{}
	if m, err := n.Members(); err == nil {
		for mid := range m {
			members[mid], _ = n.MemberAddr(mid)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": n.ID(), "leader_id": id, "leader_http": leaderHTTP, "is_leader": n.IsLeader(),
		"last_version": last, "members": members,
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// errBadParam: a query parameter that does not parse (400).
var errBadParam = errors.New("bad query parameter")

func intParam(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%w: not an integer: %q", errBadParam, s)
	}
	return n, nil
}

func uintParam(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: not a version: %q", errBadParam, s)
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code string, err error) {
	writeJSON(w, status, map[string]any{"error": err.Error(), "code": code})
}

// writeKVError answers err with its status (see the API above).
func writeKVError(w http.ResponseWriter, err error) {
	var nl *NotLeaderError
	switch {
	case errors.As(err, &nl):
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": err.Error(), "code": "not_leader", "leader_id": nl.LeaderID, "leader_raft": nl.LeaderAddr})
	case errors.Is(err, errBadParam), errors.Is(err, ErrAddressInUse):
		writeError(w, http.StatusBadRequest, "bad_request", err)
	case errors.Is(err, kv.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err)
	case errors.Is(err, kv.ErrInvalidKey), errors.Is(err, kv.ErrInvalidRun), errors.Is(err, kv.ErrInvalidValue):
		writeError(w, http.StatusBadRequest, "invalid", err)
	case errors.Is(err, kv.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err)
	case errors.Is(err, kv.ErrWrongType):
		writeError(w, http.StatusConflict, "wrong_type", err)
	case errors.Is(err, kv.ErrOverflow):
		writeError(w, http.StatusConflict, "overflow", err)
	case errors.Is(err, kv.ErrHistoryTrimmed):
		writeError(w, http.StatusGone, "history_trimmed", err)
	case errors.Is(err, ErrUnknownOutcome):
		writeError(w, http.StatusGatewayTimeout, "outcome_unknown", err)
	case errors.Is(err, ErrNotApplied):
		writeError(w, http.StatusGatewayTimeout, "not_applied", err)
	default:
		writeError(w, http.StatusInternalServerError, "internal", err)
	}
}
