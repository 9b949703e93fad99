// Command strata-server serves one node of a replicated Strata cluster
// (package replica) over HTTP/JSON.
//
//	STRATA_TOKEN=secret strata-server -id n1 -dir data/n1 -bootstrap
//	STRATA_TOKEN=secret strata-server -id n2 -dir data/n2 -http 127.0.0.1:7080 -raft 127.0.0.1:7081 -join 127.0.0.1:7070
//
// The bearer token every call (and join) needs comes from -token-file or
// the STRATA_TOKEN environment variable, never from a flag (flags show in
// ps). Both listeners bind to localhost unless told otherwise. With
// -tls-cert, -tls-key and -tls-ca the HTTP API serves TLS and raft
// traffic between nodes uses mutual TLS: each node presents its
// certificate and checks the other's against the CA.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/replica"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "strata-server:", err)
		os.Exit(1)
	}
}

type options struct {
	id, dir, httpAddr, raftAddr, join string
	httpAdvertise, raftAdvertise      string
	bootstrap                         bool
	tokenFile                         string
	cert, key, ca                     string
	strict                            bool
}

func parse(args []string, out io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("strata-server", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.id, "id", "", "this node's ID, unique in the cluster (required)")
	fs.StringVar(&o.dir, "dir", "", "this node's data directory (default strata-node-ID)")
	fs.StringVar(&o.httpAddr, "http", "127.0.0.1:7070", "address of the HTTP API")
	fs.StringVar(&o.raftAddr, "raft", "127.0.0.1:7071", "address of raft traffic between nodes")
	fs.StringVar(&o.httpAdvertise, "http-advertise", "", "the HTTP address other nodes reach this one at (default: -http, with the port its listener got)")
	fs.StringVar(&o.raftAdvertise, "raft-advertise", "", "the raft address other nodes reach this one at (default: -raft)")
	fs.BoolVar(&o.bootstrap, "bootstrap", false, "start a new cluster with this node (first start only)")
	fs.StringVar(&o.join, "join", "", "HTTP address (host:port) of a member to join the cluster through")
	fs.StringVar(&o.tokenFile, "token-file", "", "file holding the bearer token (else $STRATA_TOKEN)")
	fs.StringVar(&o.cert, "tls-cert", "", "this node's certificate (PEM): serve TLS, and mutual TLS between nodes")
	fs.StringVar(&o.key, "tls-key", "", "this node's private key (PEM)")
	fs.StringVar(&o.ca, "tls-ca", "", "CA certificate (PEM) that signs the nodes' certificates")
	fs.BoolVar(&o.strict, "strict", false, "fsync the database on every commit (raft's log is fsynced either way)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.id == "" {
		return nil, errors.New("-id is required")
	}
	if o.dir == "" {
		o.dir = "strata-node-" + o.id
	}
	// Addresses are host:port, each checked here: a malformed -join was
	// retried for ever in silence, a malformed advertised address stored
	// in the cluster's configuration (review 56). (-http-advertise
	// defaults, in run, to -http with the port its listener got.)
	for _, a := range []struct {
		flag   string
		value  *string
		remote bool // others dial it: a host and a port other than 0
	}{
		{"-http", &o.httpAddr, false},
		{"-raft", &o.raftAddr, false},
		{"-http-advertise", &o.httpAdvertise, true},
		{"-raft-advertise", &o.raftAdvertise, true},
		{"-join", &o.join, true},
	} {
		if *a.value == "" && a.flag != "-http" && a.flag != "-raft" {
			continue
		}
		addr, err := checkAddr(*a.value, a.remote)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", a.flag, *a.value, err)
		}
		*a.value = addr
	}
	if (o.cert == "") != (o.key == "") || (o.cert != "" && o.ca == "") {
		return nil, errors.New("TLS needs -tls-cert, -tls-key and -tls-ca together")
	}
	return o, nil
}

// checkAddr checks that addr is host:port with a port (a number or a
// service name, as net.Listen takes: review 63) and returns it with the
// port as a number; remote
// asks for a host and a port other than 0 (an address others dial).
func checkAddr(addr string, remote bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("want host:port: %w", err)
	}
	p, err := net.LookupPort("tcp", port) // a number, or a service name (http)
	if err != nil {
		return "", fmt.Errorf("want host:port with a port number or service name, not %q: %w", port, err)
	}
	if remote && (host == "" || p == 0) {
		return "", errors.New("want host:port that another machine can reach (a host, and a port other than 0)")
	}
	// With the port as a number: URLs built from it take no service
	// name (review 65: -join 127.0.0.1:http failed at the first join).
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// token reads the bearer token from the file or the environment.
func token(o *options) (string, error) {
	t := os.Getenv("STRATA_TOKEN")
	if o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return "", err
		}
		t = string(b)
	}
	t = strings.TrimSpace(t)
	if t == "" {
		return "", errors.New("no bearer token: set STRATA_TOKEN or give -token-file (every call must carry it)")
	}
	return t, nil
}

// tlsConfigs returns the server's and the client's TLS configurations
// (nil, nil without TLS).
func tlsConfigs(o *options) (server, client *tls.Config, err error) {
	if o.cert == "" {
		return nil, nil, nil
	}
	pair, err := tls.LoadX509KeyPair(o.cert, o.key)
	if err != nil {
		return nil, nil, err
	}
	pem, err := os.ReadFile(o.ca)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("%s holds no PEM certificate", o.ca)
	}
	server = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, RootCAs: pool, MinVersion: tls.VersionTLS12}
	client = &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client, nil
}

// run serves until ctx ends (or the listener fails).
func run(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	tok, err := token(o)
	if err != nil {
		return err
	}
	srvTLS, cliTLS, err := tlsConfigs(o)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var raftTLS *tls.Config
	if srvTLS != nil {
		raftTLS = srvTLS.Clone()
		raftTLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	kvOpts := &kv.Options{Logger: log}
	if o.strict {
		kvOpts.Durability = kv.Strict
	}
	node, err := replica.Open(replica.Config{
		ID: o.id, Dir: o.dir, RaftAddr: o.raftAddr, RaftAdvertise: o.raftAdvertise, Bootstrap: o.bootstrap,
		KV: kvOpts, RaftTLS: raftTLS, Logger: log, Secret: tok,
	})
	if err != nil {
		return err
	}
	defer node.Close()
	scheme := "http"
	client := &http.Client{Timeout: 30 * time.Second}
	if cliTLS != nil {
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: cliTLS}
	}
	ln, err := net.Listen("tcp", o.httpAddr)
	if err != nil {
		return err
	}
	// Advertised: -http with the port the listener got (-http
	// 127.0.0.1:0 advertised port 0: review 56).
	httpAddr := o.httpAddr
	if host, _, err := net.SplitHostPort(o.httpAddr); err == nil {
		if _, port, err := net.SplitHostPort(ln.Addr().String()); err == nil {
			httpAddr = net.JoinHostPort(host, port)
		}
	}
	if o.httpAdvertise == "" {
		o.httpAdvertise = httpAddr
	}
	srv, err := replica.NewServer(replica.ServerConfig{Node: node, Token: tok, HTTPAddr: o.httpAdvertise, Scheme: scheme, Client: client})
	if err != nil {
		ln.Close()
		return err
	}
	if srvTLS != nil {
		ln = tls.NewListener(ln, srvTLS)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	// A refused join ends the server with its error (a non-zero exit),
	// sent before the context is cancelled; a join cut short by a
	// shutdown is not an error.
	joinc := make(chan error, 1)
	go func() {
		if o.join != "" {
			if err := join(ctx, client, scheme, o, tok, node); err != nil {
				if ctx.Err() == nil {
					joinc <- fmt.Errorf("join through %s: %w", o.join, err)
				}
				log.Error("strata-server: join failed", "err", err)
				stop()
				return
			}
		}
		srv.Register(ctx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("strata-server: serving", "id", o.id, "http", scheme+"://"+httpAddr, "raft", node.RaftAddr(), "dir", o.dir)
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	cerr := node.Close()
	select {
	case err := <-joinc:
		return errors.Join(err, cerr)
	default:
		return cerr
	}
}

// join asks the member at o.join to add this node, retrying until it
// answers (it forwards to the leader) or ctx ends.
func join(ctx context.Context, client *http.Client, scheme string, o *options, tok string, node *replica.Node) error {
	body, _ := json.Marshal(map[string]string{"id": o.id, "raft_addr": node.RaftAddr(), "http_addr": o.httpAdvertise})
	// Also on a restart: a member's join is a no-op for raft, and a node
	// that left (whose own records still list it) joins again.
	for {
		req, err := http.NewRequestWithContext(ctx, "POST", scheme+"://"+o.join+"/v1/join", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err == nil {
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK:
				return nil
			case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusBadRequest:
				return fmt.Errorf("join through %s: %s", o.join, strings.TrimSpace(string(msg)))
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
