//! Callbacks and the executor that polls them, the guest exports (`plugin!`), and futures over host operations.
//! Part of the `ananas` SDK module: lib.rs includes it.
use super::*;

type BoxedVerdictFuture = Pin<Box<dyn Future<Output = Verdict>>>;

enum Callback {
    Sync(Box<dyn Fn(&Request) -> Verdict>),
    Async(Box<dyn Fn(Request) -> BoxedVerdictFuture>),
}

struct Task {
    future: BoxedVerdictFuture,
    waker: Waker,
}

/// Marks a task ready to be polled again (guest-side wakeups, e.g. one future completing another).
struct TaskWaker {
    id: i32,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        READY.with(|r| r.borrow_mut().push_back(self.id));
    }
}

thread_local! {
    static CALLBACKS: RefCell<Vec<Callback>> = RefCell::new(Vec::new());
    static TASKS: RefCell<HashMap<i32, Task>> = RefCell::new(HashMap::new());
    static READY: RefCell<VecDeque<i32>> = RefCell::new(VecDeque::new());
    static NEXT_TASK: Cell<i32> = Cell::new(1);
    static CURRENT_TASK: Cell<i32> = Cell::new(0);
}

fn register_callback(phase: Phase, callback: Callback) {
    let id = CALLBACKS.with(|c| {
        let mut c = c.borrow_mut();
        c.push(callback);
        (c.len() - 1) as i32
    });
    let r = unsafe { raw::register_callback(phase as i32, id) };
    if r < 0 {
        panic!("register_callback({:?}) failed: {:?}", phase, HostError::from_code(r));
    }
}

/// Registers a synchronous callback for a phase. Only valid in the start function.
pub fn register<F: Fn(&Request) -> Verdict + 'static>(phase: Phase, callback: F) {
    register_callback(phase, Callback::Sync(Box::new(callback)));
}

/// Registers an async callback: it may await host operations (e.g. `sleep`) without holding a host thread.
pub fn register_async<F, Fut>(phase: Phase, callback: F)
where
    F: Fn(Request) -> Fut + 'static,
    Fut: Future<Output = Verdict> + 'static,
{
    register_callback(phase, Callback::Async(Box::new(move |req| Box::pin(callback(req)))));
}

/// Registers a background task: runs when the plugin version becomes current, then every `interval_ms` (at
/// least 100), without a query, until the version is replaced or unloaded. Only valid in the start function.
pub fn every<F, Fut>(interval_ms: u32, task: F)
where
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let id = CALLBACKS.with(|c| {
        let mut c = c.borrow_mut();
        c.push(Callback::Async(Box::new(move |_req| {
            let run = task();
            Box::pin(async move {
                run.await;
                Verdict::Continue
            })
        })));
        (c.len() - 1) as i32
    });
    let r = unsafe { raw_ext::register_periodic(interval_ms.min(i32::MAX as u32) as i32, id) };
    if r < 0 {
        panic!("register_periodic failed: {:?}", HostError::from_code(r));
    }
}

/// The id of the task being polled (0 outside any task).
pub fn current_task() -> i32 {
    CURRENT_TASK.with(|c| c.get())
}

/// Polls a task until it completes or waits on something no guest code can complete.
fn run_task(id: i32) -> i32 {
    let mut task = match TASKS.with(|t| t.borrow_mut().remove(&id)) {
        Some(task) => task,
        None => return -2,
    };
    // Bounded: a task that keeps waking itself would otherwise spin here; the host's CPU budget also applies.
    for _ in 0..1024 {
        CURRENT_TASK.with(|c| c.set(id));
        let mut cx = Context::from_waker(&task.waker);
        let poll = task.future.as_mut().poll(&mut cx);
        CURRENT_TASK.with(|c| c.set(0));
        match poll {
            Poll::Ready(verdict) => {
                READY.with(|r| r.borrow_mut().retain(|&t| t != id));
                return verdict as i32;
            }
            Poll::Pending => {
                let woken = READY.with(|r| {
                    let mut r = r.borrow_mut();
                    let before = r.len();
                    r.retain(|&t| t != id);
                    r.len() != before
                });
                if !woken {
                    break;
                }
            }
        }
    }
    TASKS.with(|t| t.borrow_mut().insert(id, task));
    PENDING
}

#[doc(hidden)]
pub fn __trampoline(callback_id: i32, _phase: i32) -> i32 {
    // Take the future out before polling, so a callback may use the SDK freely (no RefCell held across it).
    enum Started {
        Done(Verdict),
        Future(BoxedVerdictFuture),
        Missing,
    }
    let started = CALLBACKS.with(|c| {
        let c = c.borrow();
        match c.get(callback_id as usize) {
            Some(Callback::Sync(f)) => Started::Done(f(&request())),
            Some(Callback::Async(f)) => Started::Future(f(request())),
            None => Started::Missing,
        }
    });
    match started {
        Started::Done(v) => v as i32,
        Started::Missing => -2,
        Started::Future(future) => {
            let id = NEXT_TASK.with(|n| {
                let id = n.get();
                n.set(if id == i32::MAX { 1 } else { id + 1 });
                id
            });
            let waker = Waker::from(Arc::new(TaskWaker { id }));
            TASKS.with(|t| t.borrow_mut().insert(id, Task { future, waker }));
            run_task(id)
        }
    }
}

#[doc(hidden)]
pub fn __wake(task_id: i32) -> i32 {
    run_task(task_id)
}

#[doc(hidden)]
pub fn __start(args_ptr: i32, args_len: i32, start: fn(&str) -> Result<(), String>) -> i32 {
    let args = if args_len <= 0 {
        String::new()
    } else {
        // Safety: the host wrote args_len bytes at args_ptr (memory it got from ananas_alloc).
        let bytes = unsafe { std::slice::from_raw_parts(args_ptr as usize as *const u8, args_len as usize) };
        String::from_utf8_lossy(bytes).into_owned()
    };
    match start(&args) {
        Ok(()) => 0,
        Err(message) => {
            log(Level::Error, &format!("start failed: {}", message));
            1
        }
    }
}

#[doc(hidden)]
pub fn __alloc(len: i32) -> i32 {
    if len <= 0 {
        return 0;
    }
    // Leaked on purpose: the host writes into it and the guest takes ownership (args, async results).
    let mut buf: Vec<u8> = Vec::new();
    if buf.try_reserve_exact(len as usize).is_err() {
        return 0;
    }
    buf.resize(len as usize, 0);
    let p = buf.as_mut_ptr() as usize as i32;
    std::mem::forget(buf);
    p
}

/// Defines the guest exports (docs/plugins.md, "Guest exports") around the start function. The SDK module must
/// be named `ananas` at the crate root.
macro_rules! define_plugin {
    ($start:path) => {
        #[no_mangle]
        pub extern "C" fn ananas_abi_version() -> i32 {
            crate::ananas::ABI_VERSION
        }
        #[no_mangle]
        pub extern "C" fn ananas_alloc(len: i32) -> i32 {
            crate::ananas::__alloc(len)
        }
        #[no_mangle]
        pub extern "C" fn ananas_request_region() -> i32 {
            crate::ananas::__request_region()
        }
        #[no_mangle]
        pub extern "C" fn ananas_start(args_ptr: i32, args_len: i32) -> i32 {
            crate::ananas::__start(args_ptr, args_len, $start)
        }
        #[no_mangle]
        pub extern "C" fn ananas_trampoline(callback_id: i32, phase: i32) -> i32 {
            crate::ananas::__trampoline(callback_id, phase)
        }
        #[no_mangle]
        pub extern "C" fn ananas_wake(task_id: i32) -> i32 {
            crate::ananas::__wake(task_id)
        }
    };
}
// `plugin` alone would clash with a built-in attribute name, hence the rename.
pub(crate) use define_plugin as plugin;

// ---------------------------------------------------------------------------------------------------------
// Async host operations.
// ---------------------------------------------------------------------------------------------------------

/// A future over one host operation handle: completes when `op_poll` says so; while pending it asks the host
/// (`op_wake_on`) to wake the current task.
pub struct HostOperation {
    handle: i32,
    done: bool,
}

impl HostOperation {
    /// Wraps a handle returned by an async hostcall; an error code completes at once with that error.
    pub fn new(handle: i32) -> HostOperation {
        HostOperation { handle, done: false }
    }
}

impl Future for HostOperation {
    type Output = Result<(), HostError>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.done {
            return Poll::Ready(Ok(()));
        }
        if self.handle < 0 {
            return Poll::Ready(Err(HostError::from_code(self.handle)));
        }
        match unsafe { raw::op_poll(self.handle) } {
            1 => {
                self.done = true;
                Poll::Ready(Ok(()))
            }
            0 => {
                let task = current_task();
                let r = unsafe { raw::op_wake_on(self.handle, task) };
                if r < 0 { Poll::Ready(Err(HostError::from_code(r))) } else { Poll::Pending }
            }
            error => Poll::Ready(Err(HostError::from_code(error))),
        }
    }
}

/// Waits `ms` milliseconds on a host timer, releasing the host thread meanwhile.
pub fn sleep(ms: u32) -> HostOperation {
    HostOperation::new(unsafe { raw::timer_start(ms.min(i32::MAX as u32) as i32) })
}
