// TcpConnection: what both roles of an NVMe/TCP queue pair share.
//
// The byte stream (byte_stream.h), the PDU reader, the gathered sender,
// connection setup (its states and timeouts), fatal errors (TermReq, then a
// graceful close) and Close. The two roles derive from it and implement
// only what they do with the PDUs they receive and the capsules they send:
// TcpHostQueuePair (tcp_host.h) and TcpControllerQueuePair
// (tcp_controller.h), each with its own capsule type. Nothing here switches
// on the role.
//
// Nothing on the data path allocates: PDUs to send come from the TxQueue's
// pool, completions from the CallbackQueue's.

#ifndef NVMEOF_TCP_TCP_CONNECTION_H_
#define NVMEOF_TCP_TCP_CONNECTION_H_

#include <functional>
#include <memory>
#include <string>

#include "nvmeof/callback_queue.h"
#include "nvmeof/event_loop.h"
#include "nvmeof/proto/tcp_pdu.h"
#include "nvmeof/transport.h"
#include "tcp/byte_stream.h"
#include "tcp/pdu_reader.h"
#include "tcp/tx_queue.h"

namespace nvmeof::tcp {

class TcpConnection : public QueuePair,
                      private EventLoop::FdHandler,
                      private PduReader::Handler,
                      private EventLoop::Task {
 public:
  ~TcpConnection() override;

  TransportType transport_type() const override { return TransportType::kTcp; }
  TransportAddress local_address() const override;
  std::string peer_name() const override { return peer_name_; }
  std::string tls_identity() const override {
    return stream_ != nullptr ? stream_->tls_identity() : std::string();
  }

 protected:
  // The connection's life:
  //   kConnecting -> kAwaitIc       host: the TCP connect completed
  //   kAwaitIc -> kReady            ICReq/ICResp exchanged (FinishSetup)
  //   any -> kTerminating           a fatal error: TermReq queued
  //   any -> kDown                  the stream is closed
  enum class State : uint8_t {
    kConnecting,   // host: TCP connect in progress
    kAwaitIc,      // ICReq sent (host) or awaited (controller)
    kReady,        // PDUs flow
    kTerminating,  // TermReq being sent; then the write side shuts
    kDown,         // stream closed
  };

  // `term_req_type`: the TermReq this end sends (H2C for a host).
  TcpConnection(EventLoop* loop, QueuePairRole role,
                std::unique_ptr<ByteStream> stream, size_t rx_buffer_size,
                PduType term_req_type);

  // ---- for the roles ----
  State state() const { return state_; }
  void set_state(State s) { state_ = s; }
  PduReader& reader() { return reader_; }
  const PduFormat& tx_format() const { return tx_format_; }
  void set_tx_format(const PduFormat& f) { tx_format_ = f; }
  CallbackQueue<Status>& completions() { return completions_; }
  // What the PDU being received is (between OnHeader and OnEnd).
  PduType rx_type() const { return rx_type_; }
  uint32_t rx_datal() const { return rx_datal_; }
  uint8_t rx_flags() const { return rx_flags_; }

  // A blank PDU to fill and queue.
  TxItem* NewItem() { return tx_.NewItem(); }
  // Queues `item`; what a turn queues goes out in one write at its end.
  void QueueItem(TxItem* item);
  // An item for a header (header digest and padding added as the layout
  // says) and its data: [data_offset, + layout.data_len) of `data`, with
  // its digest.
  TxItem* BuildItem(const void* header, const PduLayout& layout,
                    const MemDesc* data, size_t data_offset);
  // Queues a plain header-only PDU (ICReq, ICResp) of `len` bytes.
  void QueueRaw(const void* pdu, size_t len);

  // A protocol error found here: send the TermReq, close, report.
  void Fatal(const PduError& e, std::span<const uint8_t> offending);
  // The connection is gone (peer closed, I/O error, TermReq received).
  void ConnectionLost(Status why);
  // Watches the stream for what the state and the send queue need.
  void UpdateInterest();
  void StartIcTimer(EventLoop::Clock::duration timeout, std::string why);
  // ICReq/ICResp done: the queue pair is handed to the upper layer
  // (HandOver).
  void FinishSetup();
  // Setup failed before the hand-over: the role reports it (host), and
  // the queue pair deletes itself, later.
  void SetupFailed(Status why);
  // Closes the stream now.
  void CloseStream();

  // ---- what each role implements ----
  // PduReader::Handler, by role (TermReqs are handled here).
  virtual PduReader::Placement OnHeader(const PduLayout& layout,
                                        const uint8_t* hdr) = 0;
  virtual PduError OnEnd(bool ddgst_ok) = 0;
  // An item of a capsule's data went out (or was dropped with `status`),
  // before its capsule reference is dropped.
  virtual void OnCommandDataSent(TxItem& item, const Status& status) {
    (void)item;
    (void)status;
  }
  // Host: the TCP connect completed: send the ICReq.
  virtual void OnStreamConnected() {}
  // Whether setup is still going on (the queue pair not yet handed over).
  virtual bool in_setup() const = 0;
  // Setup is done: hand the queue pair to the upper layer.
  virtual void HandOver() = 0;
  // Setup failed: tell whoever waits (the host's ConnectCallback).
  virtual void ReportSetupFailure(Status why) = 0;
  // Close: every pending transfer ends with `why`.
  virtual void CancelAll(const Status& why) = 0;
  // A partly received PDU holds a capsule nobody else knows of: drop it.
  virtual void DropPartialPdu() {}

 private:
  void OnFdEvents(uint32_t events) override;
  void Run() override;  // end of turn: flush the send queue
  void OnReadable();
  void Flush();
  void CompleteItem(TxItem* item, const Status& status);
  void EndTermination();
  PduReader::Placement OnPduHeader(const PduLayout& layout,
                                   const uint8_t* hdr) override;
  PduError OnPduEnd(bool ddgst_ok) override;
  void DoClose(std::function<void()> done) final;

  std::unique_ptr<ByteStream> stream_;
  std::string peer_name_;  // read once: it outlives the stream, for logs
  State state_;
  uint32_t interest_ = 0;    // epoll events asked for (0 reports HUP/ERR)
  bool registered_ = false;  // the fd is in the loop's epoll set
  PduReader reader_;
  TxQueue tx_;
  CallbackQueue<Status> completions_;
  PduFormat tx_format_;  // how our PDUs are formatted (fixed by IC)
  const PduType term_req_type_;
  EventLoop::TimerId ic_timer_ = 0;
  EventLoop::TimerId grace_timer_ = 0;
  TxItem* term_req_item_ = nullptr;  // while kTerminating
  bool draining_ = false;    // TermReq sent, write side shut, discarding input
  bool self_owned_ = false;  // failed before being handed over: deletes itself
  Status fatal_status_;
  std::function<void()> close_done_;  // Close() waiting for a termination

  PduType rx_type_{};
  uint32_t rx_datal_ = 0;
  uint8_t rx_flags_ = 0;
};

}  // namespace nvmeof::tcp

#endif  // NVMEOF_TCP_TCP_CONNECTION_H_
