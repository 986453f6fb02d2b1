complete -c mqtt-send -s c -l config -d 'Flint-style JSON config file (keys: broker, client-id, topic, qos, content, ...)' -r -F
complete -c mqtt-send -s b -l broker -d 'Broker URL: tcp:// mqtt:// (1883), ssl:// mqtts:// tls:// (8883), ws:// (80) and wss:// (443) with a path (/mqtt by default), unix:///PATH, or host[:port] [config: broker] [default: tcp://localhost:1883]' -r
complete -c mqtt-send -s h -l host -d 'Broker host name or IP address, in place of the broker URL\'s (scheme and port stay)' -r
complete -c mqtt-send -s p -l port -d 'Broker port, in place of the broker URL\'s' -r
complete -c mqtt-send -s i -l client-id -l id -d 'MQTT client identifier (AWS IoT Core: the thing name); \'\' sends an empty one [config: client-id] [default: mqtt-send-<8 random hex digits>]' -r
complete -c mqtt-send -s I -l id-prefix -d 'Client id: PREFIX and the process id (mosquitto_pub\'s -I)' -r
complete -c mqtt-send -s L -l url -d 'mosquitto_pub\'s URL, mqtt(s)://[USER@]HOST[:PORT]/TOPIC: the broker, username and topic (a password in it is refused: ps would show it)' -r
complete -c mqtt-send -l unix -d 'Connect to the broker\'s Unix socket PATH instead of TCP' -r -F
complete -c mqtt-send -s k -l keepalive -d 'Seconds between keep-alive pings the broker may expect; 0 turns them off [config: keepalive] [default: the --timeout, at least 60 s]' -r
complete -c mqtt-send -s x -l session-expiry-interval -d 'MQTT 5 Session Expiry Interval in seconds; -1: the session never expires [config: session-expiry-interval] [default: 0: the session ends with the connection]' -r
complete -c mqtt-send -s V -l protocol-version -d 'MQTT version: 5, 3.1.1 or 3.1; given, no other is tried [config: protocol-version] [default: 5, and 3.1.1 once if the broker does not speak 5]' -r -f -a "5\t''
mqttv5\t''
3.1.1\t''
311\t''
mqttv311\t''
3.1\t''
31\t''
mqttv31\t''"
complete -c mqtt-send -s t -l topic -d 'Topic to publish to (no + or #); required, except with --ndjson [config: topic]' -r
complete -c mqtt-send -s q -l qos -d 'Quality of service: 0, 1 or 2 [config: qos] [default: 2]' -r -f -a "0\t''
1\t''
2\t''"
complete -c mqtt-send -s m -l content -l message -d 'The message [config: content]' -r
complete -c mqtt-send -s f -l content-file -l file -d 'Read the message from a file, byte for byte; - reads stdin' -r -F
complete -c mqtt-send -l repeat -d 'Publish the message N times over the connection [config: repeat] [default: 1]' -r
complete -c mqtt-send -l repeat-delay -d 'Seconds to wait between repeated messages [config: repeat-delay] [default: 0]' -r
complete -c mqtt-send -s r -l retain -d 'Ask the broker to retain the message [config: retain] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -l user-property -d 'A user property, KEY=VALUE; repeatable, in order, a key may repeat [config: user-property]' -r
complete -c mqtt-send -l content-type -d 'Content type of the message (a MIME type, such as application/json) [config: content-type]' -r
complete -c mqtt-send -l message-expiry -d 'Seconds the broker keeps the message for subscribers that have not received it yet [config: message-expiry]' -r
complete -c mqtt-send -l response-topic -d 'Topic for a response to the message (no + or #) [config: response-topic]' -r
complete -c mqtt-send -l correlation-data -d 'Correlation data for a response: the bytes of TEXT [config: correlation-data]' -r
complete -c mqtt-send -l payload-format -d 'utf8: the payload is UTF-8 text (checked before sending) [config: payload-format]' -r -f -a "utf8\t''"
complete -c mqtt-send -s D -l property -d 'mosquitto_pub\'s -D: a property of the CONNECT, PUBLISH, will or DISCONNECT packet, e.g. -D publish user-property KEY VALUE; repeatable' -r
complete -c mqtt-send -l will-topic -d 'Topic of the will: the message the broker publishes if mqtt-send vanishes without disconnecting [config: will-topic]' -r
complete -c mqtt-send -l will-payload -d 'The will\'s message (empty if not given) [config: will-payload]' -r
complete -c mqtt-send -l will-qos -d 'The will\'s QoS: 0, 1 or 2 [config: will-qos] [default: 0]' -r -f -a "0\t''
1\t''
2\t''"
complete -c mqtt-send -l will-retain -d 'Ask the broker to retain the will [config: will-retain] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -s u -l username -d 'Username [config: username]' -r
complete -c mqtt-send -s P -l password -l pw -d 'Password; visible to ps, prefer MQTT_SEND_PASSWORD or --password-file [config: password]' -r
complete -c mqtt-send -l password-file -d 'Read the password from the first line of a file' -r -F
complete -c mqtt-send -l root-ca-crt -l cafile -d 'PEM CA bundle that signs the broker\'s certificate [config: root-ca-crt] [default: the system trust store]' -r -F
complete -c mqtt-send -l capath -d 'Directory of PEM CA certificates that sign the broker\'s certificate [config: capath]' -r -F
complete -c mqtt-send -l tls-use-os-certs -d 'TLS with the system trust store (besides --root-ca-crt or --capath, if given) [config: tls-use-os-certs] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -l certificate -l cert -d 'PEM client certificate (chain); on the command line it implies --use-certificate [config: certificate]' -r -F
complete -c mqtt-send -l private-key -l key -d 'PEM private key: PKCS#1, PKCS#8 or SEC1 [config: private-key]' -r -F
complete -c mqtt-send -l use-certificate -d 'Authenticate with the client certificate [config: use-certificate] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -l alpn -l tls-alpn -d 'ALPN protocol to offer in the TLS handshake; repeatable [config: alpn] [default: x-amzn-mqtt-ca on port 443 with a client certificate, mqtt with --aws-authorizer, http/1.1 for wss://]' -r
complete -c mqtt-send -l tls-version -d 'The oldest TLS version to accept: tlsv1.3, or tlsv1.2 (1.2 and 1.3; tlsv1.1 means the same, as mqtt-send never speaks older than 1.2) [config: tls-version]' -r -f -a "tlsv1.3\t''
tlsv1.2\t''
tlsv1.1\t''"
complete -c mqtt-send -l proxy -d 'HTTP proxy to tunnel through (CONNECT): http://[user:password@]host:port; without it, HTTPS_PROXY (TLS, wss), HTTP_PROXY (ws), ALL_PROXY (all) and NO_PROXY apply, except to loopback brokers [config: proxy]' -r
complete -c mqtt-send -l aws-sigv4 -d 'wss:// only: sign the WebSocket URL with AWS SigV4 (AWS IoT Core with IAM credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, or AWS_PROFILE\'s static keys; region from AWS_REGION or the endpoint) [config: aws-sigv4] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -l aws-authorizer -d 'AWS IoT custom authorizer to name in the username (offers ALPN mqtt on port 443) [config: aws-authorizer]' -r
complete -c mqtt-send -l aws-authorizer-token -d 'The token the custom authorizer reads, as its token key name and value [config: aws-authorizer-token]' -r
complete -c mqtt-send -l aws-authorizer-signature -d 'The token\'s signature, for an authorizer with token signing on [config: aws-authorizer-signature]' -r
complete -c mqtt-send -l timeout -d 'One deadline for the whole run, in seconds [config: timeout] [default: 30]' -r
complete -c mqtt-send -l retries -d 'Retry connection failures where nothing was published, at most 1000 times [config: retries] [default: 0]' -r
complete -c mqtt-send -l lines -d 'Batch: every line of the content is one message to --topic, over one connection; empty lines are skipped [config: lines] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -l ndjson -d 'Batch: every line is a JSON message {"topic","content","qos","retain"} that may set the MQTT 5 properties too (by their config keys); missing fields come from the flags; empty lines are skipped [config: ndjson] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -l shadow -d 'AWS IoT device shadow: update, get or delete the shadow of --thing and wait for the shadow service\'s answer (exit 8 when it rejects the request); the topic is derived [config: shadow]' -r -f -a "update\t''
get\t''
delete\t''"
complete -c mqtt-send -l thing -d 'The thing whose shadow --shadow works on [config: thing] [default: the client id]' -r
complete -c mqtt-send -l shadow-name -d 'A named shadow of --thing (without it: the classic shadow) [config: shadow-name]' -r
complete -c mqtt-send -l wait-response -d 'Subscribe to --response-topic first, publish with it and a correlation data (MQTT 5: --correlation-data, or a fresh one), and wait for the reply; it goes into the meta object [config: wait-response] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -l nodelay -d 'Accepted for mosquitto_pub: mqtt-send always turns off Nagle\'s algorithm'
complete -c mqtt-send -s s -l stdin-file -d 'The message is all of stdin, which must not be empty (-f - takes it as it is)'
complete -c mqtt-send -s l -l stdin-line -d 'Every line of stdin is a message (--lines -f -)'
complete -c mqtt-send -s n -l null-message -d 'The message is empty (zero bytes)'
complete -c mqtt-send -s v -s d -l verbose -l debug -d 'Log protocol events and decisions on stderr (never a secret)'
complete -c mqtt-send -l quiet -d 'Print nothing, neither the meta object nor errors: the exit status tells'
complete -c mqtt-send -l help -d 'Print help'
complete -c mqtt-send -l version -d 'Print version'
