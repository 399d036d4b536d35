package neo4j_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// boltCommit is a Bolt COMMIT message as it goes over the wire: a chunk of
// two bytes (an empty struct, signature 0x12) and the end-of-message marker.
var boltCommit = []byte{0x00, 0x02, 0xB0, 0x12, 0x00, 0x00}

// batchMarker is in the batch's statement (the last user's key): only a
// COMMIT on a connection that carried it is the batch's. Another
// transaction's COMMIT on another connection (the pool's) is not.
var batchMarker = []byte("commit299@example.com")

// commitProxy forwards Bolt between the publisher and Neo4j. Once armed, on
// the first COMMIT of the batch (after batchMarker, on the same
// connection) it has forwarded to the server it calls onCommit and
// holds the server's answer back for a moment: the client's context ends
// while the server commits, the moment SIGTERM hit in the undercounting run.
type commitProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu       sync.Mutex
	onCommit func()
	fired    chan struct{} // closed once COMMIT went to the server
	answered chan struct{} // closed once the server answered after that
	conns    []net.Conn
}

func startCommitProxy(t *testing.T, target string) *commitProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &commitProxy{ln: ln, target: target, fired: make(chan struct{}), answered: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *commitProxy) arm(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onCommit = fn
}

func (p *commitProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(s, c, true)
		go p.pipe(c, s, false)
	}
}

func (p *commitProxy) pipe(dst, src net.Conn, toServer bool) {
	defer p.wg.Done()
	defer dst.Close()
	if toServer {
		// A client that hangs up must not take the COMMIT back: the
		// server connection stays until the server has answered it.
		defer func() {
			select {
			case <-p.fired:
				select {
				case <-p.answered:
				case <-time.After(10 * time.Second):
				}
			default:
			}
		}()
	}
	buf := make([]byte, 64<<10)
	var tail []byte
	answered, primed := false, false
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !toServer && !answered {
				select {
				case <-p.fired:
					answered = true
					close(p.answered)
					time.Sleep(500 * time.Millisecond) // the answer to COMMIT arrives late
				default:
				}
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			if toServer {
				seen := append(tail, buf[:n]...)
				if !primed && bytes.Contains(seen, batchMarker) {
					primed = true
					seen = seen[bytes.Index(seen, batchMarker)+len(batchMarker):]
				}
				if primed && bytes.Contains(seen, boltCommit) {
					p.mu.Lock()
					fn := p.onCommit
					p.onCommit = nil
					p.mu.Unlock()
					if fn != nil {
						fn()
						close(p.fired)
					}
				}
				// Keep less than a whole message: a COMMIT matched once is not matched again.
				keep := max(len(boltCommit), len(batchMarker)) - 1
				tail = append(tail[:0], seen[max(0, len(seen)-keep):]...)
			}
		}
		if err != nil {
			return
		}
	}
}

// TestInterruptedCommitIsCountedIntegration: a run's context ends (SIGTERM)
// after a batch's COMMIT went to the server and before its answer came
// back. The server commits; PublishNodes must wait for the answer and
// report the batch, so that the summary counts what the graph holds. (It
// used to return the context's error and count nothing: a run interrupted
// at 9 s said 6,000 created while the graph held 8,000.)
func TestInterruptedCommitIsCountedIntegration(t *testing.T) {
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	uri := neo4jtest.URI(t)
	proxy := startCommitProxy(t, uri[len("bolt://"):])
	p, err := neo4j.New(config("bolt://"+proxy.ln.Addr().String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	bg, stop := context.WithTimeout(context.Background(), 2*time.Minute) // hang guard
	defer stop()
	if err := p.Prepare(bg); err != nil {
		t.Fatal(err)
	}

	us := make([]extractor.User, 300)
	for i := range us {
		us[i] = user(fmt.Sprintf("commit%03d@example.com", i), fmt.Sprintf("00uc%03d", i), "C", true)
	}
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	proxy.arm(cancel)
	st, err := p.PublishNodes(ctx, testRun(t, p), nodes(us...))
	select {
	case <-proxy.fired:
	default:
		t.Fatal("the proxy saw no COMMIT: the test did not interrupt a commit")
	}
	select {
	case <-proxy.answered:
	case <-bg.Done():
		t.Fatal("the server never answered the COMMIT")
	}
	if ctx.Err() == nil {
		t.Fatal("the context did not end")
	}
	inGraph := count(t, d, `MATCH (u:User) RETURN count(u) AS n`, nil)
	if int64(st.Created) != inGraph {
		t.Errorf("PublishNodes reported %d created (error %v); the graph holds %d", st.Created, err, inGraph)
	}
	if inGraph != int64(len(us)) || err != nil {
		t.Errorf("the commit in flight: %d users in the graph, error %v; want all %d and no error", inGraph, err, len(us))
	}
}
