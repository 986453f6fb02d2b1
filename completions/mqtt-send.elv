
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
            cand -b 'Broker URL: tcp:// mqtt:// (1883), ssl:// mqtts:// tls:// (8883), unix:///PATH, host[:port] [config: broker] [default: tcp://localhost:1883]'
            cand --broker 'Broker URL: tcp:// mqtt:// (1883), ssl:// mqtts:// tls:// (8883), unix:///PATH, host[:port] [config: broker] [default: tcp://localhost:1883]'
            cand -h 'Broker host name or IP address, in place of the broker URL''s (scheme and port stay)'
            cand --host 'Broker host name or IP address, in place of the broker URL''s (scheme and port stay)'
            cand -p 'Broker port, in place of the broker URL''s'
            cand --port 'Broker port, in place of the broker URL''s'
            cand -i 'MQTT client identifier (AWS IoT Core: the thing name); '''' sends an empty one [config: client-id] [default: mqtt-send-<8 random hex digits>]'
            cand --client-id 'MQTT client identifier (AWS IoT Core: the thing name); '''' sends an empty one [config: client-id] [default: mqtt-send-<8 random hex digits>]'
            cand --id 'MQTT client identifier (AWS IoT Core: the thing name); '''' sends an empty one [config: client-id] [default: mqtt-send-<8 random hex digits>]'
            cand -I 'Client id: PREFIX and the process id (mosquitto_pub''s -I)'
            cand --id-prefix 'Client id: PREFIX and the process id (mosquitto_pub''s -I)'
            cand -L 'mosquitto_pub''s URL, mqtt(s)://[USER@]HOST[:PORT]/TOPIC: the broker, username and topic (a password in it is refused: ps would show it)'
            cand --url 'mosquitto_pub''s URL, mqtt(s)://[USER@]HOST[:PORT]/TOPIC: the broker, username and topic (a password in it is refused: ps would show it)'
            cand --unix 'Connect to the broker''s Unix socket PATH instead of TCP'
            cand -k 'Seconds between keep-alive pings the broker may expect; 0 turns them off [config: keepalive] [default: the --timeout, at least 60 s]'
            cand --keepalive 'Seconds between keep-alive pings the broker may expect; 0 turns them off [config: keepalive] [default: the --timeout, at least 60 s]'
            cand -x 'MQTT 5 Session Expiry Interval in seconds; -1: the session never expires [config: session-expiry-interval] [default: 0: the session ends with the connection]'
            cand --session-expiry-interval 'MQTT 5 Session Expiry Interval in seconds; -1: the session never expires [config: session-expiry-interval] [default: 0: the session ends with the connection]'
            cand -V 'MQTT version: 5, 3.1.1 or 3.1; given, no other is tried [config: protocol-version] [default: 5, and 3.1.1 once if the broker does not speak 5]'
            cand --protocol-version 'MQTT version: 5, 3.1.1 or 3.1; given, no other is tried [config: protocol-version] [default: 5, and 3.1.1 once if the broker does not speak 5]'
            cand -t 'Topic to publish to (no + or #); required, except with --ndjson [config: topic]'
            cand --topic 'Topic to publish to (no + or #); required, except with --ndjson [config: topic]'
            cand -q 'Quality of service: 0, 1 or 2 [config: qos] [default: 2]'
            cand --qos 'Quality of service: 0, 1 or 2 [config: qos] [default: 2]'
            cand -m 'The message [config: content]'
            cand --content 'The message [config: content]'
            cand --message 'The message [config: content]'
            cand -f 'Read the message from a file, byte for byte; - reads stdin'
            cand --content-file 'Read the message from a file, byte for byte; - reads stdin'
            cand --file 'Read the message from a file, byte for byte; - reads stdin'
            cand --repeat 'Publish the message N times over the connection [config: repeat] [default: 1]'
            cand --repeat-delay 'Seconds to wait between repeated messages [config: repeat-delay] [default: 0]'
            cand -r 'Ask the broker to retain the message [config: retain] [default: false]'
            cand --retain 'Ask the broker to retain the message [config: retain] [default: false]'
            cand --user-property 'A user property, KEY=VALUE; repeatable, in order, a key may repeat [config: user-property]'
            cand --content-type 'Content type of the message (a MIME type, such as application/json) [config: content-type]'
            cand --message-expiry 'Seconds the broker keeps the message for subscribers that have not received it yet [config: message-expiry]'
            cand --response-topic 'Topic for a response to the message (no + or #) [config: response-topic]'
            cand --correlation-data 'Correlation data for a response: the bytes of TEXT [config: correlation-data]'
            cand --payload-format 'utf8: the payload is UTF-8 text (checked before sending) [config: payload-format]'
            cand -D 'mosquitto_pub''s -D: a property of the CONNECT, PUBLISH, will or DISCONNECT packet, e.g. -D publish user-property KEY VALUE; repeatable'
            cand --property 'mosquitto_pub''s -D: a property of the CONNECT, PUBLISH, will or DISCONNECT packet, e.g. -D publish user-property KEY VALUE; repeatable'
            cand --will-topic 'Topic of the will: the message the broker publishes if mqtt-send vanishes without disconnecting [config: will-topic]'
            cand --will-payload 'The will''s message (empty if not given) [config: will-payload]'
            cand --will-qos 'The will''s QoS: 0, 1 or 2 [config: will-qos] [default: 0]'
            cand --will-retain 'Ask the broker to retain the will [config: will-retain] [default: false]'
            cand -u 'Username [config: username]'
            cand --username 'Username [config: username]'
            cand -P 'Password; visible to ps, prefer MQTT_SEND_PASSWORD or --password-file [config: password]'
            cand --password 'Password; visible to ps, prefer MQTT_SEND_PASSWORD or --password-file [config: password]'
            cand --pw 'Password; visible to ps, prefer MQTT_SEND_PASSWORD or --password-file [config: password]'
            cand --password-file 'Read the password from the first line of a file'
            cand --root-ca-crt 'PEM CA bundle that signs the broker''s certificate [config: root-ca-crt] [default: the system trust store]'
            cand --cafile 'PEM CA bundle that signs the broker''s certificate [config: root-ca-crt] [default: the system trust store]'
            cand --capath 'Directory of PEM CA certificates that sign the broker''s certificate [config: capath]'
            cand --tls-use-os-certs 'TLS with the system trust store (besides --root-ca-crt or --capath, if given) [config: tls-use-os-certs] [default: false]'
            cand --certificate 'PEM client certificate (chain); on the command line it implies --use-certificate [config: certificate]'
            cand --cert 'PEM client certificate (chain); on the command line it implies --use-certificate [config: certificate]'
            cand --private-key 'PEM private key: PKCS#1, PKCS#8 or SEC1 [config: private-key]'
            cand --key 'PEM private key: PKCS#1, PKCS#8 or SEC1 [config: private-key]'
            cand --use-certificate 'Authenticate with the client certificate [config: use-certificate] [default: false]'
            cand --alpn 'ALPN protocol to offer in the TLS handshake; repeatable [config: alpn] [default: x-amzn-mqtt-ca on port 443 with a client certificate]'
            cand --tls-alpn 'ALPN protocol to offer in the TLS handshake; repeatable [config: alpn] [default: x-amzn-mqtt-ca on port 443 with a client certificate]'
            cand --tls-version 'The oldest TLS version to accept: tlsv1.3, or tlsv1.2 (1.2 and 1.3; tlsv1.1 means the same, as mqtt-send never speaks older than 1.2) [config: tls-version]'
            cand --timeout 'One deadline for the whole run, in seconds [config: timeout] [default: 30]'
            cand --retries 'Retry connection failures where nothing was published, at most 1000 times [config: retries] [default: 0]'
            cand --lines 'Batch: every line of the content is one message to --topic, over one connection; empty lines are skipped [config: lines] [default: false]'
            cand --ndjson 'Batch: every line is a JSON message {"topic","content","qos","retain"} that may set the MQTT 5 properties too (by their config keys); missing fields come from the flags; empty lines are skipped [config: ndjson] [default: false]'
            cand --shadow 'AWS IoT device shadow: update, get or delete the shadow of --thing and wait for the shadow service''s answer (exit 8 when it rejects the request); the topic is derived [config: shadow]'
            cand --thing 'The thing whose shadow --shadow works on [config: thing] [default: the client id]'
            cand --shadow-name 'A named shadow of --thing (without it: the classic shadow) [config: shadow-name]'
            cand --wait-response 'Subscribe to --response-topic first, publish with it and a correlation data (MQTT 5: --correlation-data, or a fresh one), and wait for the reply; it goes into the meta object [config: wait-response] [default: false]'
            cand --nodelay 'Accepted for mosquitto_pub: mqtt-send always turns off Nagle''s algorithm'
            cand -s 'The message is all of stdin (-f -)'
            cand --stdin-file 'The message is all of stdin (-f -)'
            cand -l 'Every line of stdin is a message (--lines -f -)'
            cand --stdin-line 'Every line of stdin is a message (--lines -f -)'
            cand -n 'The message is empty (zero bytes)'
            cand --null-message 'The message is empty (zero bytes)'
            cand -v 'Log protocol events and decisions on stderr (never a secret)'
            cand -d 'Log protocol events and decisions on stderr (never a secret)'
            cand --verbose 'Log protocol events and decisions on stderr (never a secret)'
            cand --debug 'Log protocol events and decisions on stderr (never a secret)'
            cand --quiet 'Print nothing, neither the meta object nor errors: the exit status tells'
            cand --help 'Print help'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
