package main

import (
	"io"
	"net"
	"sync"
	"testing"
)

// tcpProxy stands between Sigil and Postgres so a test can take the
// database away and bring it back without touching the shared server.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cond  *sync.Cond
	mode  proxyMode
	conns map[net.Conn]bool // true: held without an upstream (stalled accept)
	wg    sync.WaitGroup
}

type proxyMode int

const (
	proxyPass   proxyMode = iota // forward everything
	proxyRefuse                  // close every connection at once
	proxyStall                   // accept and hold, forward nothing
)

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		switch mode {
		case proxyRefuse:
			c.Close()
		case proxyStall:
			p.conns[c] = true
		}
		p.mu.Unlock()
		if mode != proxyPass {
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = false, false
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies src to dst, holding each chunk while the proxy stalls.
func (p *tcpProxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.mode == proxyStall {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

func (p *tcpProxy) closeAllLocked() {
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Cut closes every connection and refuses new ones.
func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = proxyRefuse
	p.closeAllLocked()
	p.cond.Broadcast()
}

// Stall keeps every connection open but forwards nothing, and holds new
// connections without answering: a database that hangs.
func (p *tcpProxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = proxyStall
}

// Restore forwards again. Connections held while stalled are dropped.
func (p *tcpProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = proxyPass
	for c, held := range p.conns {
		if held {
			c.Close()
			delete(p.conns, c)
		}
	}
	p.cond.Broadcast()
}

func (p *tcpProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.mode = proxyRefuse
	p.closeAllLocked()
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}
