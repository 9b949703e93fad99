package replica

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// streamLayer carries raft's traffic over TCP, over mutual TLS when
// configured. Each connection starts with a handshake: the dialer names
// its raft address (a length-prefixed string), the acceptor answers a
// random 32-byte challenge, and the dialer proves it knows the cluster's
// secret with HMAC-SHA256(secret, challenge || address). A connection
// that fails it is closed before raft sees a byte of it. Handshakes run
// each in a goroutine of their own, so a peer that connects and stays
// silent delays nobody. The address lets a Partition cut the traffic
// between chosen nodes both ways.
type streamLayer struct {
	ln     net.Listener
	self   string
	tls    *tls.Config
	secret []byte
	block  *Partition

	ready     chan net.Conn // connections whose handshake passed
	done      chan struct{} // closed by Close
	closeOnce sync.Once

	mu    sync.Mutex
	conns map[*peerConn]bool
}

// peerConn is a connection to or from the node whose raft address is
// peer.
type peerConn struct {
	net.Conn
	peer  string
	layer *streamLayer
	once  sync.Once
}

// Close closes the connection and forgets it.
func (c *peerConn) Close() error {
	c.once.Do(func() {
		c.layer.mu.Lock()
		delete(c.layer.conns, c)
		c.layer.mu.Unlock()
	})
	return c.Conn.Close()
}

// handshakeTimeout bounds a connection's handshake.
const handshakeTimeout = 10 * time.Second

func newStreamLayer(addr string, cfg *tls.Config, secret string, block *Partition) (*streamLayer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("replica: raft listener: %w", err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	s := &streamLayer{ln: ln, self: ln.Addr().String(), tls: cfg, secret: []byte(secret), block: block,
		ready: make(chan net.Conn), done: make(chan struct{}), conns: map[*peerConn]bool{}}
	if block != nil {
		block.register(s)
	}
	go s.acceptLoop()
	return s, nil
}

// acceptLoop accepts connections and hands each to a handshake.
func (s *streamLayer) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			s.Close()
			return
		}
		go s.admit(c)
	}
}

// admit runs the acceptor's side of the handshake and passes the
// connection to Accept, or closes it.
func (s *streamLayer) admit(c net.Conn) {
	defer s.closeOnDone(c)()
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	peer, err := readPeer(c)
	var challenge [32]byte
	if err == nil {
		_, err = rand.Read(challenge[:])
	}
	if err == nil {
		_, err = c.Write(challenge[:])
	}
	var proof [32]byte
	if err == nil {
		_, err = io.ReadFull(c, proof[:])
	}
	if err != nil || !hmac.Equal(proof[:], s.prove(challenge[:], peer)) || s.block.cut(s.self, peer) {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	pc := s.track(c, peer)
	select {
	case s.ready <- pc:
	case <-s.done:
		pc.Close()
	}
}

// prove returns HMAC-SHA256(secret, challenge || peer).
func (s *streamLayer) prove(challenge []byte, peer string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write(challenge)
	m.Write([]byte(peer))
	return m.Sum(nil)
}

// Accept returns the next connection whose handshake passed.
func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.ready:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

// readPeer reads the dialer's address (for TLS, the TLS handshake
// happens here too: a peer without a trusted certificate fails it).
func readPeer(c net.Conn) (string, error) {
	var n [2]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return "", err
	}
	b := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// closeOnDone closes c if the layer closes before the returned function
// is called: a connection in its handshake is not tracked yet, and Close
// must not leave it (and the goroutine reading it) open until the
// handshake's deadline.
func (s *streamLayer) closeOnDone(c net.Conn) (stop func()) {
	ended := make(chan struct{})
	go func() {
		select {
		case <-s.done:
			c.Close()
		case <-ended:
		}
	}()
	return func() { close(ended) }
}

func (s *streamLayer) track(c net.Conn, peer string) *peerConn {
	pc := &peerConn{Conn: c, peer: peer, layer: s}
	s.mu.Lock()
	s.conns[pc] = true
	s.mu.Unlock()
	return pc
}

// Dial connects to the node at address, unless a Partition cuts it off.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	addr := string(address)
	if s.block.cut(s.self, addr) {
		return nil, fmt.Errorf("replica: %s is cut off from %s", addr, s.self)
	}
	d := &net.Dialer{Timeout: timeout}
	var c net.Conn
	var err error
	if s.tls != nil {
		c, err = tls.DialWithDialer(d, "tcp", addr, s.tls)
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	stop := s.closeOnDone(c)
	defer stop()
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	hello := binary.BigEndian.AppendUint16(nil, uint16(len(s.self)))
	var challenge [32]byte
	_, err = c.Write(append(hello, s.self...))
	if err == nil {
		_, err = io.ReadFull(c, challenge[:])
	}
	if err == nil {
		_, err = c.Write(s.prove(challenge[:], s.self))
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("replica: handshake with %s: %w", addr, err)
	}
	c.SetDeadline(time.Time{})
	return s.track(c, addr), nil
}

// Close stops the listener and closes every connection to and from
// this node (raft's pooled ones too).
func (s *streamLayer) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		err = s.ln.Close()
		s.mu.Lock()
		cs := make([]*peerConn, 0, len(s.conns))
		for c := range s.conns {
			cs = append(cs, c)
		}
		s.mu.Unlock()
		for _, c := range cs {
			c.Close()
		}
	})
	return err
}

// Addr returns the listener's address.
func (s *streamLayer) Addr() net.Addr { return s.ln.Addr() }

// closePeer closes the connections with peer.
func (s *streamLayer) closePeer(peer string) {
	s.mu.Lock()
	var cs []*peerConn
	for c := range s.conns {
		if c.peer == peer {
			cs = append(cs, c)
		}
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// Partition cuts the raft traffic between chosen nodes, both ways (for
// tests of a network partition): give the same Partition to every node's
// Config, then Cut and Heal pairs of raft addresses.
type Partition struct {
	mu     sync.Mutex
	cuts   map[[2]string]bool
	layers []*streamLayer
}

// NewPartition returns a Partition that cuts nothing yet.
func NewPartition() *Partition { return &Partition{cuts: map[[2]string]bool{}} }

func (p *Partition) register(s *streamLayer) {
	p.mu.Lock()
	p.layers = append(p.layers, s)
	p.mu.Unlock()
}

func pair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// cut reports whether the traffic between a and b is cut.
func (p *Partition) cut(a, b string) bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts[pair(a, b)]
}

// Cut cuts the traffic between the nodes at raft addresses a and b, and
// closes their connections.
func (p *Partition) Cut(a, b string) {
	p.mu.Lock()
	p.cuts[pair(a, b)] = true
	layers := append([]*streamLayer(nil), p.layers...)
	p.mu.Unlock()
	for _, s := range layers {
		switch s.self {
		case a:
			s.closePeer(b)
		case b:
			s.closePeer(a)
		}
	}
}

// Isolate cuts the node at raft address a off from every other node the
// Partition knows.
func (p *Partition) Isolate(a string) {
	p.mu.Lock()
	var others []string
	for _, s := range p.layers {
		if s.self != a {
			others = append(others, s.self)
		}
	}
	p.mu.Unlock()
	for _, b := range others {
		p.Cut(a, b)
	}
}

// Heal restores all traffic.
func (p *Partition) Heal() {
	p.mu.Lock()
	clear(p.cuts)
	p.mu.Unlock()
}
