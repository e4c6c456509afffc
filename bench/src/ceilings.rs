//! What loopback TCP alone allows on this machine, with no node behind it:
//! the ceilings bench/run sets the node's figures against.

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bytes of a neo Put besides its value, to the channel "bench": message
/// header, request id, code and version, channel, key, value length.
const PUT_FRAMING: usize = 10 + 8 + 2 + 8 + 5 + 8 + 8;

/// Bytes of a neo Put's answer: message header, request id, status.
const PUT_ANSWER: usize = 10 + 8 + 1;

/// MB/s of `count` messages of `size` bytes sent from one thread to another
/// over loopback TCP, each acknowledged before the next is sent.
pub fn stop_and_wait(count: u64, size: usize) -> anyhow::Result<f64> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
    let (mut node, _) = listener.accept()?;
    // As the node and the clients set them.
    client.set_nodelay(true)?;
    node.set_nodelay(true)?;
    let started = Instant::now();
    let sender = std::thread::spawn(move || -> std::io::Result<()> {
        let (message, mut ack) = (vec![0x5a; size], [0u8]);
        for _ in 0..count {
            node.write_all(&message)?;
            node.read_exact(&mut ack)?;
        }
        Ok(())
    });
    let mut message = vec![0; size];
    for _ in 0..count {
        client.read_exact(&mut message)?;
        client.write_all(&[1])?;
    }
    sender.join().map_err(|_| anyhow::anyhow!("the sending thread panicked"))??;
    Ok((count * size as u64) as f64 / 1e6 / started.elapsed().as_secs_f64())
}

/// MB/s of values of `count` Put-sized requests (`size` bytes of value)
/// over `connections` loopback connections with `pipeline` in flight on
/// each. Both sides do the least they can, as the node's single network
/// thread and the one-thread load client at their best: the client writes
/// every request its window allows in one write, the server (another
/// thread) counts whole requests in what it reads and answers them in one
/// write; nobody parses, stores or allocates.
pub fn put_ceiling(count: u64, size: usize, connections: u64, pipeline: u64) -> anyhow::Result<f64> {
    let (request, connections) = (size + PUT_FRAMING, connections.max(1));
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let server = std::thread::spawn(move || -> std::io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let mut connections_served = tokio::task::JoinSet::new();
            for _ in 0..connections {
                let (stream, _) = listener.accept().await?;
                connections_served.spawn(answer_puts(stream, request));
            }
            while let Some(served) = connections_served.join_next().await {
                served??;
            }
            Ok(())
        })
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let started = Instant::now();
    runtime.block_on(async move {
        let mut lanes = tokio::task::JoinSet::new();
        for connection in 0..connections {
            // The requests shared out as evenly as they go.
            let share = count / connections + u64::from(connection < count % connections);
            let stream = tokio::net::TcpStream::connect(addr).await?;
            lanes.spawn(send_puts(stream, share, pipeline.max(1), request));
        }
        while let Some(sent) = lanes.join_next().await {
            sent??;
        }
        anyhow::Ok(())
    })?;
    let elapsed = started.elapsed().as_secs_f64();
    server.join().map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
    Ok((count * size as u64) as f64 / 1e6 / elapsed)
}

/// Sends `count` requests of `request` bytes, at most `pipeline` unanswered.
async fn send_puts(mut stream: tokio::net::TcpStream, count: u64, pipeline: u64, request: usize) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let message = vec![0x5a; request];
    let (mut sent, mut answered_bytes, mut out, mut answers) = (0u64, 0usize, Vec::new(), vec![0; 64 * 1024]);
    while ((answered_bytes / PUT_ANSWER) as u64) < count {
        let window = (answered_bytes / PUT_ANSWER) as u64 + pipeline;
        if sent < window.min(count) {
            out.clear();
            for _ in sent..window.min(count) {
                out.extend_from_slice(&message);
            }
            stream.write_all(&out).await?;
            sent = window.min(count);
        }
        match stream.read(&mut answers).await? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => answered_bytes += n,
        }
    }
    Ok(())
}

/// Answers every whole request of `request` bytes the connection brings.
async fn answer_puts(mut stream: tokio::net::TcpStream, request: usize) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut incoming = vec![0; 64 * 1024];
    let answers = vec![0; (incoming.len() / request + 1) * PUT_ANSWER];
    let mut partial = 0;
    loop {
        let n = stream.read(&mut incoming).await?;
        if n == 0 {
            return Ok(());
        }
        let whole = (partial + n) / request;
        partial = (partial + n) % request;
        stream.write_all(&answers[..whole * PUT_ANSWER]).await?;
    }
}
