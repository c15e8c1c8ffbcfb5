"""A peer process that announces "PORT <n>" on stdout, for the Python tests.

One implementation for every test that starts a server: the port is read
with a timeout (a peer that hangs before printing fails the test instead of
hanging it), and the process is stopped by its pid (SIGTERM, then SIGKILL).
"""

import queue
import re
import subprocess
import threading

PORT_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class PortProcess:
    def __init__(self, argv, name, host="127.0.0.1", env=None):
        self.name = name
        self.proc = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=env)
        try:
            self.port = self._read_port()
        except BaseException:
            self.stop()
            raise
        self.target = ("[%s]:%d" if ":" in host else "%s:%d") % (host, self.port)

    def _read_port(self):
        # readline() has no timeout; a helper thread lets us give up.
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()),
                         daemon=True).start()
        try:
            line = lines.get(timeout=PORT_TIMEOUT_S)
        except queue.Empty:
            raise RuntimeError("%s printed no PORT line within %.0f s"
                               % (self.name, PORT_TIMEOUT_S)) from None
        match = re.fullmatch(rb"PORT (\d+)\r?\n", line)
        if not match:
            raise RuntimeError("%s: expected 'PORT <n>', got %r (exit code %s)"
                               % (self.name, line, self.proc.poll()))
        return int(match.group(1))

    def assert_alive(self):
        code = self.proc.poll()
        assert code is None, "%s died (exit code %s)" % (self.name, code)

    def stop(self):
        """Stop by pid: SIGTERM, then SIGKILL if it lingers. Returns exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)
        self.proc.stdout.close()
        return self.proc.returncode
