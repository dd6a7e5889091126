"""Reading a chunked HTTP request body, for the test servers beside this file."""


def read_chunked(rfile):
    """The chunks of a chunked body, and the trailers after the last one (names lower-cased)."""
    chunks, trailers = [], {}
    while True:
        size = int(rfile.readline().split(b";")[0].strip(), 16)
        if size == 0:
            break
        chunks.append(rfile.read(size))
        rfile.readline()
    while True:
        line = rfile.readline().strip()
        if not line:
            break
        name, _, value = line.decode().partition(":")
        trailers[name.strip().lower()] = value.strip()
    return chunks, trailers
