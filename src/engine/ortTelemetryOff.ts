// Imported before onnxruntime-node everywhere a session is made. onnxruntime 1.29+ starts a telemetry
// client when its environment is created: it would send usage events from the user's machine, and on
// Linux it matches a backtracking regex against /proc/self/cmdline that overflows the stack on a long
// command line (a ~29,000-character prompt killed the CLI with SIGSEGV). The switch is read once, when
// the native environment is created, so it must be set before the first session.
process.env.ORT_DISABLE_TELEMETRY = '1';
export {};
