// https://github.com/amule-project/amule/issues/873
// CWebSocket::OnReceive(): m_pBuf = new char[m_dwBufSize]; when a read fills the buffer,
// m_pBuf[m_dwRecv] = '\0' writes one byte past the new[] block.
#include <cstdio>
#include <cstring>

struct WebSocket {
    char *m_pBuf;
    unsigned m_dwBufSize, m_dwRecv;
    WebSocket() : m_pBuf(new char[128]), m_dwBufSize(128), m_dwRecv(0) {}
    ~WebSocket() { delete[] m_pBuf; }
    void OnReceive(const char *data, unsigned n) {
        std::memcpy(m_pBuf + m_dwRecv, data, n);
        m_dwRecv += n;
        m_pBuf[m_dwRecv] = '\0'; // the bug when m_dwRecv == m_dwBufSize
    }
};

int main() {
    char data[128];
    std::memset(data, 'G', sizeof data);
    WebSocket ws;
    ws.OnReceive(data, sizeof data);
    std::printf("%u\n", ws.m_dwRecv);
}
