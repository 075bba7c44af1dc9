package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// buildSigil builds the sigil command into a directory removed after t,
// for tests that need real OS processes (SIGKILL, several instances).
func buildSigil(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sigil")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// processEnv is env as a process environment, with nothing of the test's
// own environment but PATH and HOME.
func processEnv(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// sigilProc is a `sigil serve` running as its own OS process; the embedded
// server gives it the same client helpers as an in-process server.
type sigilProc struct {
	*server
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startSigilProc starts `bin serve` with env and waits until it listens.
// At the end of the test a process still running gets SIGTERM (and
// SIGKILL if it does not stop within 15 s); its stderr is logged if the
// test failed.
func startSigilProc(t *testing.T, name, bin string, env map[string]string) *sigilProc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = processEnv(env)
	p := &sigilProc{server: &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}, Issuer: env["SIGIL_ISSUER"]}, name: name, cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-p.exited
			}
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.stderr.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listenRE.FindStringSubmatch(p.stdout.String()); m != nil {
			p.Base = m[1]
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited before listening:\n%s", name, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start:\n%s", name, p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (p *sigilProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		select {
		case <-p.exited:
			return
		default:
			t.Fatalf("kill %s: %v", p.name, err)
		}
	}
	<-p.exited
}
