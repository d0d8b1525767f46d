// `as_completed(..).timeout(..)` is a stream that `StreamExt::next` takes as it is, like the
// stream without a timeout: no pinning by hand.
use futures::StreamExt;

fn main() {
    futures::executor::block_on(async {
        let mut stream = aiokit::as_completed([std::future::ready(1)])
            .timeout(std::time::Duration::from_secs(60));
        assert_eq!(stream.next().await, Some(Ok(1)));
        assert_eq!(stream.next().await, None);
    });
}
