package replica

import (
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
// configured. Each connection starts with the dialing node's raft
// address (a length-prefixed string), so that a Partition can cut the
// traffic between chosen nodes both ways, and name the peer.
type streamLayer struct {
	ln    net.Listener
	self  string
	tls   *tls.Config
	block *Partition

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

func (c *peerConn) Close() error {
	c.once.Do(func() {
		c.layer.mu.Lock()
		delete(c.layer.conns, c)
		c.layer.mu.Unlock()
	})
	return c.Conn.Close()
}

func newStreamLayer(addr string, cfg *tls.Config, block *Partition) (*streamLayer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("replica: raft listener: %w", err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	s := &streamLayer{ln: ln, self: ln.Addr().String(), tls: cfg, block: block, conns: map[*peerConn]bool{}}
	if block != nil {
		block.register(s)
	}
	return s, nil
}

// Accept returns the next connection from a peer that is not cut off.
func (s *streamLayer) Accept() (net.Conn, error) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return nil, err
		}
		peer, err := readPeer(c)
		if err != nil || s.block.cut(s.self, peer) {
			c.Close()
			continue
		}
		return s.track(c, peer), nil
	}
}

// readPeer reads the dialer's address, within a deadline (for TLS, the
// handshake happens here too: a peer without a trusted certificate fails
// it).
func readPeer(c net.Conn) (string, error) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
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

func (s *streamLayer) track(c net.Conn, peer string) net.Conn {
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
	hello := binary.BigEndian.AppendUint16(nil, uint16(len(s.self)))
	if _, err := c.Write(append(hello, s.self...)); err != nil {
		c.Close()
		return nil, err
	}
	return s.track(c, addr), nil
}

// Close stops the listener.
func (s *streamLayer) Close() error { return s.ln.Close() }

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
