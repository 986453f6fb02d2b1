
use builtin;
use str;

set edit:completion:arg-completer[mqtt-send] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'mqtt-send'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'mqtt-send'= {
            cand -c 'Flint-style JSON config file (keys: broker, client-id, topic, qos, content, ...)'
            cand --config 'Flint-style JSON config file (keys: broker, client-id, topic, qos, content, ...)'
            cand -b 'Broker URL: tcp:// mqtt:// (1883), ssl:// mqtts:// tls:// (8883), ws:// (80) and wss:// (443) with a path (/mqtt by default), or host[:port] [config: broker] [default: tcp://localhost:1883]'
            cand --broker 'Broker URL: tcp:// mqtt:// (1883), ssl:// mqtts:// tls:// (8883), ws:// (80) and wss:// (443) with a path (/mqtt by default), or host[:port] [config: broker] [default: tcp://localhost:1883]'
            cand -h 'Broker host name or IP address, in place of the broker URL''s (scheme and port stay)'
            cand --host 'Broker host name or IP address, in place of the broker URL''s (scheme and port stay)'
            cand -p 'Broker port, in place of the broker URL''s'
            cand --port 'Broker port, in place of the broker URL''s'
            cand -i 'MQTT client identifier (AWS IoT Core: the thing name); '''' sends an empty one [config: client-id] [default: mqtt-send-<8 random hex digits>]'
            cand --client-id 'MQTT client identifier (AWS IoT Core: the thing name); '''' sends an empty one [config: client-id] [default: mqtt-send-<8 random hex digits>]'
            cand -V 'MQTT version: 5 or 3.1.1; given, no other is tried [config: protocol-version] [default: 5, and 3.1.1 once if the broker does not speak 5]'
            cand --protocol-version 'MQTT version: 5 or 3.1.1; given, no other is tried [config: protocol-version] [default: 5, and 3.1.1 once if the broker does not speak 5]'
            cand -t 'Topic to publish to (no + or #); required, except with --ndjson [config: topic]'
            cand --topic 'Topic to publish to (no + or #); required, except with --ndjson [config: topic]'
            cand -q 'Quality of service: 0, 1 or 2 [config: qos] [default: 2]'
            cand --qos 'Quality of service: 0, 1 or 2 [config: qos] [default: 2]'
            cand -m 'The message [config: content]'
            cand --content 'The message [config: content]'
            cand -f 'Read the message from a file, byte for byte; - reads stdin'
            cand --content-file 'Read the message from a file, byte for byte; - reads stdin'
            cand -r 'Ask the broker to retain the message [config: retain] [default: false]'
            cand --retain 'Ask the broker to retain the message [config: retain] [default: false]'
            cand --user-property 'A user property, KEY=VALUE; repeatable, in order, a key may repeat [config: user-property]'
            cand --content-type 'Content type of the message (a MIME type, such as application/json) [config: content-type]'
            cand --message-expiry 'Seconds the broker keeps the message for subscribers that have not received it yet [config: message-expiry]'
            cand --response-topic 'Topic for a response to the message (no + or #) [config: response-topic]'
            cand --correlation-data 'Correlation data for a response: the bytes of TEXT [config: correlation-data]'
            cand --payload-format 'utf8: the payload is UTF-8 text (checked before sending) [config: payload-format]'
            cand -u 'Username [config: username]'
            cand --username 'Username [config: username]'
            cand -P 'Password; visible to ps, prefer MQTT_SEND_PASSWORD or --password-file [config: password]'
            cand --password 'Password; visible to ps, prefer MQTT_SEND_PASSWORD or --password-file [config: password]'
            cand --password-file 'Read the password from the first line of a file'
            cand --root-ca-crt 'PEM CA bundle that signs the broker''s certificate [config: root-ca-crt] [default: the system trust store]'
            cand --certificate 'PEM client certificate (chain) [config: certificate]'
            cand --private-key 'PEM private key: PKCS#1, PKCS#8 or SEC1 [config: private-key]'
            cand --use-certificate 'Authenticate with the client certificate [config: use-certificate] [default: false]'
            cand --alpn 'ALPN protocol to offer in the TLS handshake; repeatable [config: alpn] [default: x-amzn-mqtt-ca on port 443 with a client certificate, mqtt with --aws-authorizer, http/1.1 for wss://]'
            cand --proxy 'HTTP proxy to tunnel through (CONNECT): http://[user:password@]host:port; without it, HTTPS_PROXY (TLS, wss), HTTP_PROXY (tcp, ws), ALL_PROXY and NO_PROXY apply, except to loopback brokers [config: proxy]'
            cand --aws-sigv4 'wss:// only: sign the WebSocket URL with AWS SigV4 (AWS IoT Core with IAM credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, or AWS_PROFILE''s static keys; region from AWS_REGION or the endpoint) [config: aws-sigv4] [default: false]'
            cand --aws-authorizer 'AWS IoT custom authorizer to name in the username (offers ALPN mqtt on port 443) [config: aws-authorizer]'
            cand --aws-authorizer-token 'The token the custom authorizer reads, as its token key name and value [config: aws-authorizer-token]'
            cand --aws-authorizer-signature 'The token''s signature, for an authorizer with token signing on [config: aws-authorizer-signature]'
            cand --timeout 'One deadline for the whole run, in seconds [config: timeout] [default: 30]'
            cand --retries 'Retry connection failures where nothing was published, at most 1000 times [config: retries] [default: 0]'
            cand --lines 'Batch: every line of the content is one message to --topic, over one connection; empty lines are skipped [config: lines] [default: false]'
            cand --ndjson 'Batch: every line is a JSON message {"topic","content","qos","retain"} that may set the MQTT 5 properties too (by their config keys); missing fields come from the flags; empty lines are skipped [config: ndjson] [default: false]'
            cand --action 'Flint''s action name; only "send" is accepted [config: action] [default: send]'
            cand --generate 'Write the shell completions and the man page under DIR (for packagers and developers)'
            cand -v 'Log protocol events and decisions on stderr (never a secret)'
            cand --verbose 'Log protocol events and decisions on stderr (never a secret)'
            cand --help 'Print help'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
