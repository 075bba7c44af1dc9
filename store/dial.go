package store

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// deadlineDialer makes Postgres connections whose every read and write
// must finish within the query timeout. lib/pq honours a context by
// sending a cancel request on a second connection and then waiting for the
// server's answer; when the database is unreachable or hangs (a network
// partition, a stalled proxy), that answer never comes and the query would
// block for as long as TCP allows. With an I/O deadline the read fails,
// the driver drops the connection, and the caller gets ErrUnavailable.
//
// A pool connection only reads while it waits for the answer to a query,
// so the deadline never cuts an idle connection.
type deadlineDialer struct {
	timeout *atomic.Int64 // nanoseconds
	d       net.Dialer
}

func (dd *deadlineDialer) Dial(network, addr string) (net.Conn, error) {
	return dd.DialContext(context.Background(), network, addr)
}

func (dd *deadlineDialer) DialTimeout(network, addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return dd.DialContext(ctx, network, addr)
}

func (dd *deadlineDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if t := time.Duration(dd.timeout.Load()); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	c, err := dd.d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &deadlineConn{Conn: c, timeout: dd.timeout}, nil
}

type deadlineConn struct {
	net.Conn
	timeout *atomic.Int64
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	if t := time.Duration(c.timeout.Load()); t > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(t))
	}
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	if t := time.Duration(c.timeout.Load()); t > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(t))
	}
	return c.Conn.Write(b)
}
