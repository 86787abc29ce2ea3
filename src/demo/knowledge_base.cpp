// The Nimbus Home knowledge base: every fact, phrasing and answer the demo's data
// generator uses. Held-out phrasings reuse the topic's words in new sentences, the way
// real customers paraphrase; they appear only in the evaluation file.
#include "demo/knowledge_base.h"

namespace chatforge::demo {

const std::vector<Intent>& intents() {
  static const std::vector<Intent> kIntents = {
      {"price", "pricing",
       {{"How much does {p} cost?", "What is the price of {p}?", "How much is {p}?", "What does {p} sell for?",
         "Price of {p}?", "how much money is {p}"},
        {"Can you tell me what {p} costs?", "I'd like to know the price of {p}."},
        "The AeroBrew X2 costs $129.",
        {"$129"},
        {"the price of {p}", "the cost of {p}", "how much {p} costs"}},
       {{"{p}多少钱？", "{p}的价格是多少？", "{p}卖多少钱？", "{p}售价多少？", "请问{p}什么价格？", "{p}价格"},
        {"买一台{p}要花多少钱？", "{p}现在的价格是多少呢？"},
        "AeroBrew X2的售价是899元。",
        {"899元"},
        {"{p}的价格", "{p}的售价", "{p}多少钱"}}},
      {"shipping_time", "shipping",
       {{"How long does shipping take?", "When will my order arrive?", "How long is delivery?",
         "How many days until {p} arrives?", "What is the delivery time?", "how long to ship {p}"},
        {"How long will delivery of {p} take?", "How many days does shipping usually take?"},
        "Orders ship within 24 hours and arrive in 3 to 5 business days.",
        {"3 to 5 business days"},
        {"the delivery time", "how long shipping takes", "when my order will arrive"}},
       {{"多久能到货？", "发货后几天能收到？", "快递要几天？", "配送需要多长时间？", "{p}下单后多久送到？", "几天到货"},
        {"买了{p}大概几天能收到？", "配送一般需要几天？"},
        "订单24小时内发货，3到5个工作日送达。",
        {"3到5个工作日"},
        {"到货时间", "配送时间", "快递几天到"}}},
      {"shipping_cost", "shipping",
       {{"Is shipping free?", "How much is shipping?", "What does delivery cost?", "Do you charge for shipping?",
         "Are there shipping fees for {p}?", "shipping cost"},
        {"Do I have to pay for shipping?", "What are the shipping charges?"},
        "Shipping is free on orders over $50; smaller orders pay $5.",
        {"free", "$50"},
        {"the shipping fee", "the cost of shipping", "free shipping"}},
       {{"包邮吗？", "运费多少？", "需要付运费吗？", "邮费怎么算？", "买{p}要运费吗？", "运费"},
        {"运费是多少钱？", "你们家包不包邮？"},
        "订单满300元包邮，不满300元收取10元运费。",
        {"满300元包邮"},
        {"运费", "包邮政策", "邮费"}}},
      {"returns", "returns",
       {{"What is your return policy?", "Can I return {p}?", "How do I return an item?",
         "How long do I have to return {p}?", "Can I send {p} back?", "return policy"},
        {"Is it possible to return {p} if I don't like it?", "What's the return window?"},
        "You can return any product within 30 days of delivery for a full refund.",
        {"30 days"},
        {"the return policy", "returning {p}", "sending {p} back"}},
       {{"可以退货吗？", "退货政策是什么？", "{p}能退吗？", "怎么退货？", "多少天内可以退货？", "退货"},
        {"{p}不喜欢的话能退货吗？", "退货期限是多久？"},
        "收货后30天内可以无理由退货，全额退款。",
        {"30天"},
        {"退货政策", "退货", "{p}退货"}}},
      {"warranty", "returns",
       {{"How long is the warranty?", "Does {p} have a warranty?", "What warranty comes with {p}?",
         "Is {p} under warranty?", "How long is {p} covered by warranty?", "warranty length"},
        {"How many years of warranty do I get?", "What is the warranty period for {p}?"},
        "The AeroBrew X2 comes with a 2-year warranty.",
        {"2-year warranty"},
        {"the warranty", "the warranty length", "warranty coverage for {p}"}},
       {{"保修多久？", "{p}有质保吗？", "质保期是多长？", "保修期多长时间？", "{p}保修几年？", "保修"},
        {"{p}的保修期是几年？", "质保是多长时间？"},
        "AeroBrew X2提供两年质保。",
        {"两年"},
        {"保修", "质保期", "{p}的保修"}}},
      {"refund_time", "returns",
       {{"When will I get my refund?", "How long does a refund take?", "How fast are refunds?",
         "When does the refund arrive?", "How many days for a refund?", "refund time"},
        {"How long do I wait for the refund?", "When can I expect my refund?"},
        "Refunds reach your account within 5 to 7 business days after we receive the return.",
        {"5 to 7 business days"},
        {"refund timing", "how long a refund takes", "when I get my refund"}},
       {{"退款多久到账？", "什么时候能收到退款？", "退款要几天？", "退款需要多长时间？", "钱多久能退回来？", "退款"},
        {"退款一般几天到账？", "我的退款什么时候到？"},
        "我们收到退货后，退款会在5到7个工作日内到账。",
        {"5到7个工作日"},
        {"退款时间", "退款到账", "退款多久到"}}},
      {"capacity", "product",
       {{"How big is the water tank?", "What is the tank capacity?", "How much water does {p} hold?",
         "How many cups can {p} make?", "What size is the water tank?", "tank size"},
        {"How many liters does the tank of {p} hold?", "What's the capacity of the water tank?"},
        "The water tank holds 1.5 liters, enough for about 10 cups.",
        {"1.5 liters"},
        {"the water tank size", "the tank capacity", "how much water {p} holds"}},
       {{"水箱多大？", "水箱容量是多少？", "{p}能装多少水？", "一箱水能做几杯？", "水箱有几升？", "水箱容量"},
        {"{p}的水箱能装几升水？", "水箱的容量有多大？"},
        "水箱容量为1.5升，大约可以做10杯咖啡。",
        {"1.5升"},
        {"水箱容量", "水箱大小", "{p}的水箱"}}},
      {"colors", "product",
       {{"What colors are available?", "Which colors does {p} come in?", "Do you have {p} in red?",
         "Is there a white version of {p}?", "What color options are there?", "colors"},
        {"Can I get {p} in a different color?", "What color choices do you offer?"},
        "The AeroBrew X2 comes in black, white and red.",
        {"black", "white", "red"},
        {"the colors of {p}", "color options", "which colors are available"}},
       {{"有哪些颜色？", "{p}有什么颜色？", "有红色的吗？", "有白色款吗？", "颜色可以选吗？", "颜色"},
        {"{p}一共有几种颜色？", "可以选择什么颜色？"},
        "AeroBrew X2有黑色、白色和红色三种颜色。",
        {"黑色", "白色", "红色"},
        {"颜色", "{p}的颜色", "可选颜色"}}},
      {"descale", "product",
       {{"How often should I descale {p}?", "When do I need to descale?", "How do I descale the machine?",
         "Does {p} need descaling?", "How often should the machine be descaled?", "descaling"},
        {"How frequently should descaling be done?", "What is the descaling schedule for {p}?"},
        "Descale the machine every 3 months with the included descaling solution.",
        {"every 3 months"},
        {"descaling {p}", "how often to descale", "the descaling interval"}},
       {{"多久除垢一次？", "{p}需要除垢吗？", "怎么除垢？", "除垢频率是多少？", "机器多久要除垢？", "除垢"},
        {"{p}应该多长时间除一次垢？", "除垢要隔多久？"},
        "建议每3个月用附带的除垢剂除垢一次。",
        {"每3个月"},
        {"除垢", "除垢频率", "{p}除垢"}}},
      {"reset", "troubleshooting",
       {{"How do I reset {p}?", "How can I restore factory settings?", "{p} is frozen, how do I restart it?",
         "What is the reset procedure?", "How to factory reset {p}?", "reset"},
        {"What should I do to reset the machine?", "Is there a way to reset {p}?"},
        "Hold the power button for 10 seconds until the light blinks; the X2 then restarts with factory settings.",
        {"10 seconds"},
        {"resetting {p}", "a factory reset", "how to reset {p}"}},
       {{"怎么重置{p}？", "如何恢复出厂设置？", "{p}死机了怎么重启？", "重置步骤是什么？", "怎样恢复出厂？", "重置"},
        {"{p}要怎么重置？", "有办法重置机器吗？"},
        "长按电源键10秒，指示灯闪烁后即恢复出厂设置。",
        {"10秒"},
        {"重置", "恢复出厂设置", "{p}的重置方法"}}},
      {"app", "product",
       {{"Is there an app?", "Which app controls {p}?", "Can I control {p} from my phone?", "What app do I need?",
         "Does {p} work with a phone app?", "app"},
        {"What is the name of the app for {p}?", "Which phone app should I download?"},
        "Use the free Nimbus Home app, available for iOS and Android.",
        {"Nimbus Home app"},
        {"the phone app", "the app for {p}", "controlling {p} from my phone"}},
       {{"有App吗？", "用什么App控制{p}？", "可以用手机控制{p}吗？", "需要下载什么App？", "{p}支持手机App吗？", "App"},
        {"控制{p}的App叫什么？", "手机上该下载哪个App？"},
        "请使用免费的云栖家居App，支持iOS和安卓。",
        {"云栖家居App"},
        {"手机App", "{p}的App", "用手机控制{p}"}}},
      {"wifi", "troubleshooting",
       {{"Does {p} support 5 GHz Wi-Fi?", "Why can't {p} connect to Wi-Fi?", "Which Wi-Fi does {p} use?",
         "I have Wi-Fi connection problems.", "What Wi-Fi band is supported?", "wifi"},
        {"Why won't {p} join my Wi-Fi network?", "Can {p} use 5 GHz Wi-Fi?"},
        "The AeroBrew X2 connects to 2.4 GHz Wi-Fi only; 5 GHz networks are not supported.",
        {"2.4 GHz"},
        {"the Wi-Fi connection", "Wi-Fi support on {p}", "connecting {p} to Wi-Fi"}},
       {{"支持5GHz的Wi-Fi吗？", "{p}连不上Wi-Fi怎么办？", "{p}支持什么Wi-Fi？", "Wi-Fi连接失败怎么办？",
         "支持哪个Wi-Fi频段？", "Wi-Fi"},
        {"{p}为什么连不上家里的Wi-Fi？", "能用5GHz的Wi-Fi吗？"},
        "AeroBrew X2只支持2.4GHz的Wi-Fi，不支持5GHz。",
        {"2.4GHz"},
        {"Wi-Fi连接", "{p}的Wi-Fi", "Wi-Fi频段"}}},
      {"error_e1", "troubleshooting",
       {{"What does error E1 mean?", "{p} shows E1.", "E1 on the display?", "I see code E1, what should I do?",
         "How do I fix error E1?", "E1"},
        {"The screen says E1. What's wrong?", "Why is {p} showing E1?"},
        "Error E1 means the water tank is empty. Refill it and press start.",
        {"water tank is empty"},
        {"error E1", "the E1 code", "what E1 means"}},
       {{"E1是什么意思？", "{p}显示E1。", "屏幕出现E1？", "出现E1代码怎么办？", "怎么解决E1错误？", "E1"},
        {"屏幕上显示E1是怎么回事？", "{p}为什么显示E1？"},
        "E1表示水箱缺水，加水后按开始键即可。",
        {"缺水"},
        {"E1错误", "E1代码", "显示E1"}}},
      {"error_e2", "troubleshooting",
       {{"What does error E2 mean?", "{p} shows E2.", "E2 on the display?", "I see code E2, what should I do?",
         "How do I fix error E2?", "E2"},
        {"The screen says E2. What's wrong?", "Why is {p} showing E2?"},
        "Error E2 means the machine is overheating. Unplug it for 30 minutes, then try again.",
        {"overheating", "30 minutes"},
        {"error E2", "the E2 code", "what E2 means"}},
       {{"E2是什么意思？", "{p}显示E2。", "屏幕出现E2？", "出现E2代码怎么办？", "怎么解决E2错误？", "E2"},
        {"屏幕上显示E2是怎么回事？", "{p}为什么显示E2？"},
        "E2表示机器过热，请拔掉电源30分钟后再试。",
        {"过热", "30分钟"},
        {"E2错误", "E2代码", "显示E2"}}},
      {"support_hours", "account",
       {{"What are your support hours?", "When is customer service open?", "When can I call support?",
         "Are you open on weekends?", "What time does support close?", "support hours"},
        {"What hours can I reach customer service?", "When is your support team available?"},
        "Our support team is available Monday to Friday, 9am to 6pm.",
        {"9am to 6pm"},
        {"your support hours", "customer service opening times", "when support is open"}},
       {{"客服几点上班？", "客服工作时间是什么？", "什么时候可以联系客服？", "周末有客服吗？", "客服几点下班？", "客服时间"},
        {"人工客服什么时间在线？", "客服的服务时间是几点到几点？"},
        "客服时间为周一至周五9点到18点。",
        {"9点到18点"},
        {"客服时间", "客服工作时间", "人工客服上班时间"}}},
      {"contact", "account",
       {{"How can I contact you?", "How do I reach customer support?", "Is there a help center?",
         "Where can I get help with {p}?", "How do I talk to a person?", "contact"},
        {"What's the best way to get in touch with support?", "Where do I go for help with {p}?"},
        "Visit our Help Center at help.nimbus-home.example or use the live chat in the app.",
        {"help.nimbus-home.example"},
        {"contacting support", "the help center", "how to reach you"}},
       {{"怎么联系你们？", "如何联系客服？", "有帮助中心吗？", "{p}出问题去哪里求助？", "怎么找人工客服？", "联系方式"},
        {"联系客服最好的办法是什么？", "{p}有问题应该去哪里找帮助？"},
        "请访问帮助中心help.nimbus-home.example，或在App里使用在线客服。",
        {"help.nimbus-home.example"},
        {"联系客服", "帮助中心", "联系方式"}}},
      {"payment", "account",
       {{"What payment methods do you accept?", "Can I pay with PayPal?", "Do you take credit cards?",
         "How can I pay for {p}?", "Which cards do you accept?", "payment"},
        {"What are my options for paying?", "Can I buy {p} with a credit card?"},
        "We accept Visa, Mastercard and PayPal.",
        {"Visa", "PayPal"},
        {"payment methods", "paying with a credit card", "how to pay"}},
       {{"支持哪些付款方式？", "可以用支付宝吗？", "能用微信付款吗？", "怎么付款买{p}？", "可以刷卡吗？", "付款方式"},
        {"买{p}能用什么方式支付？", "付款可以用哪些方式？"},
        "支持支付宝、微信支付和银行卡付款。",
        {"支付宝", "微信支付"},
        {"付款方式", "支付方式", "怎么付款"}}},
      {"track_order", "account",
       {{"How do I track my order?", "Where is my package?", "Can I see the tracking number?",
         "How can I check my order status?", "Where can I track {p}?", "track order"},
        {"How do I find out where my order is?", "Where do I check the shipping status of {p}?"},
        "Open the app and go to My Orders to see the tracking number.",
        {"My Orders"},
        {"tracking my order", "my order status", "the tracking number"}},
       {{"怎么查物流？", "我的包裹到哪了？", "在哪看快递单号？", "怎么查看订单状态？", "{p}的物流在哪查？", "查物流"},
        {"我想知道订单现在到哪里了？", "在哪里能查到{p}的配送状态？"},
        "打开App进入“我的订单”即可查看物流单号。",
        {"我的订单"},
        {"物流信息", "订单状态", "快递单号"}}},
      {"cancel_order", "account",
       {{"Can I cancel my order?", "How do I cancel an order?", "I want to cancel my purchase of {p}.",
         "Is it too late to cancel?", "How long do I have to cancel an order?", "cancel order"},
        {"Is it possible to cancel the order I just placed?", "Until when can I cancel my order for {p}?"},
        "You can cancel an order within 24 hours of placing it, as long as it has not shipped.",
        {"24 hours of placing"},
        {"cancelling my order", "order cancellation", "how to cancel an order"}},
       {{"可以取消订单吗？", "怎么取消订单？", "我想取消购买{p}。", "现在还能取消吗？", "多久内可以取消订单？", "取消订单"},
        {"刚下的单还能取消吗？", "{p}的订单什么时候之前可以取消？"},
        "下单后24小时内且未发货的订单可以取消。",
        {"下单后24小时"},
        {"取消订单", "订单取消", "怎么取消订单"}}},
      {"password", "account",
       {{"I forgot my password.", "How do I reset my password?", "I can't log in to my account.",
         "How can I change my password?", "I lost my password for the app.", "password"},
        {"What do I do if I can't remember my password?", "How do I get back into my account?"},
        "Tap Forgot Password on the login screen and we will email you a reset link.",
        {"Forgot Password"},
        {"resetting my password", "a forgotten password", "logging in to my account"}},
       {{"我忘记密码了。", "怎么重置密码？", "账号登录不上。", "怎么修改密码？", "App密码丢了怎么办？", "密码"},
        {"密码想不起来了怎么办？", "账号进不去了怎么处理？"},
        "在登录页点击“忘记密码”，我们会发送重置链接。",
        {"忘记密码"},
        {"忘记密码", "重置密码", "账号登录"}}},
      {"power", "product",
       {{"How much power does {p} use?", "What is the wattage of {p}?", "Does {p} turn off automatically?",
         "How many watts is the machine?", "Is {p} energy efficient?", "power"},
        {"What's the power consumption of {p}?", "How many watts does {p} draw?"},
        "The AeroBrew X2 uses 1200 watts and switches off after 30 minutes idle.",
        {"1200 watts"},
        {"the power of {p}", "the wattage of {p}", "energy use of {p}"}},
       {{"{p}功率多大？", "{p}是多少瓦的？", "{p}会自动关机吗？", "机器功率是多少？", "{p}耗电吗？", "功率"},
        {"{p}的耗电功率是多少？", "{p}有多少瓦？"},
        "AeroBrew X2功率为1200瓦，闲置30分钟自动关机。",
        {"1200瓦"},
        {"{p}的功率", "耗电", "{p}多少瓦"}}},
      {"drinks", "product",
       {{"What drinks can {p} make?", "Can {p} make a latte?", "Does it make espresso?",
         "What kinds of coffee does {p} brew?", "Can I make cappuccino with {p}?", "drinks"},
        {"Which coffee drinks does {p} support?", "Is {p} able to make a latte or an americano?"},
        "The X2 brews espresso, americano, latte and cappuccino.",
        {"espresso", "latte"},
        {"the drinks {p} makes", "making a latte with {p}", "which coffees {p} brews"}},
       {{"{p}能做什么咖啡？", "{p}能做拿铁吗？", "可以做意式浓缩吗？", "{p}支持哪些饮品？", "能用{p}做卡布奇诺吗？", "饮品"},
        {"{p}可以做哪几种咖啡？", "用{p}能做拿铁或美式吗？"},
        "X2可以制作意式浓缩、美式、拿铁和卡布奇诺。",
        {"拿铁", "美式"},
        {"{p}能做的咖啡", "能做哪些饮品", "做拿铁"}}},
      {"capsules", "product",
       {{"Does {p} take capsules?", "Can I use ground coffee in {p}?", "Do I need special pods?",
         "Is {p} compatible with coffee pods?", "What coffee can I put in {p}?", "capsules"},
        {"Will regular coffee pods work in {p}?", "Can {p} use normal ground coffee?"},
        "Yes, the X2 works with both ground coffee and standard capsules.",
        {"ground coffee", "capsules"},
        {"using capsules in {p}", "ground coffee in {p}", "coffee pods"}},
       {{"{p}能用胶囊吗？", "可以用咖啡粉吗？", "需要专用胶囊吗？", "{p}兼容咖啡胶囊吗？", "{p}里能放什么咖啡？", "胶囊"},
        {"普通胶囊能在{p}里用吗？", "{p}能用一般的咖啡粉吗？"},
        "可以，X2同时支持咖啡粉和标准胶囊。",
        {"咖啡粉", "胶囊"},
        {"胶囊", "咖啡粉", "{p}用的咖啡"}}},
      {"cleaning", "product",
       {{"Is {p} dishwasher safe?", "How do I clean {p}?", "Can the carafe go in the dishwasher?",
         "How should I wash the parts?", "What is the best way to clean the machine?", "cleaning"},
        {"Can I put the parts of {p} in the dishwasher?", "How do I keep {p} clean?"},
        "The carafe and drip tray are dishwasher-safe; wipe the base with a damp cloth.",
        {"dishwasher-safe"},
        {"cleaning {p}", "washing the carafe", "the dishwasher"}},
       {{"{p}能用洗碗机洗吗？", "怎么清洗{p}？", "咖啡壶可以放洗碗机吗？", "配件怎么清洗？", "机器怎么清洁？", "清洁"},
        {"{p}的配件能放进洗碗机吗？", "{p}平时怎么保持干净？"},
        "咖啡壶和接水盘可以放进洗碗机，机身用湿布擦拭即可。",
        {"洗碗机"},
        {"清洁{p}", "洗碗机", "配件清洗"}}},
      {"student_discount", "pricing",
       {{"Do you have a student discount?", "Are there discounts for students?", "Can students get {p} cheaper?",
         "Is there any discount on {p}?", "Do you offer coupons?", "discount"},
        {"I'm a student. Do I get a discount?", "Any special price on {p} for students?"},
        "Students get 10% off with a valid student ID.",
        {"10% off"},
        {"student discounts", "discounts for students", "coupons"}},
       {{"有学生优惠吗？", "学生买有折扣吗？", "学生买{p}能便宜吗？", "{p}有折扣吗？", "有优惠券吗？", "优惠"},
        {"我是学生，能打折吗？", "学生买{p}有什么优惠？"},
        "凭有效学生证可享受九折优惠。",
        {"九折"},
        {"学生优惠", "折扣", "优惠券"}}},
      {"international", "shipping",
       {{"Do you ship internationally?", "Can you send {p} abroad?", "Which countries do you ship to?",
         "Do you deliver outside the country?", "How long does international shipping take?", "international shipping"},
        {"Can I order {p} from another country?", "Is overseas delivery available?"},
        "We ship to 20 countries; international delivery takes 7 to 14 days.",
        {"20 countries"},
        {"international shipping", "shipping abroad", "delivery to other countries"}},
       {{"可以寄到国外吗？", "{p}能发海外吗？", "你们寄哪些国家？", "支持国际配送吗？", "国际快递要多久？", "国际配送"},
        {"在国外能买{p}吗？", "海外可以送货吗？"},
        "我们可以寄往20个国家，国际配送需要7到14天。",
        {"20个国家"},
        {"国际配送", "海外发货", "寄到国外"}}},
  };
  return kIntents;
}

namespace {
template <typename T>
const T& pick(Lang l, const T& en, const T& zh) {
  return l == Lang::kEn ? en : zh;
}
using Strings = std::vector<std::string_view>;
}  // namespace

const Strings& question_frames(Lang l) {
  static const Strings en = {"Please tell me about {t}.",  "Question about {t}.",      "I need information on {t}.",
                             "What can you say about {t}?", "Could you explain {t}?",   "Help me understand {t}.",
                             "I was wondering about {t}.", "Any details on {t}?",     "{t}?",
                             "Tell me {t}, please.",        "I want to ask about {t}.", "Do you know {t}?"};
  static const Strings zh = {"请介绍一下{t}。", "我想了解{t}。",   "关于{t}，能说说吗？", "{t}是怎样的？", "问一下{t}。",
                             "能解释一下{t}吗？", "{t}？",          "想咨询{t}。",         "告诉我{t}。",   "{t}有什么说明？"};
  return pick(l, en, zh);
}

const Strings& product_names(Lang l) {
  static const Strings en = {"the AeroBrew X2", "the X2", "my coffee maker", "the machine", "your coffee maker",
                             "the AeroBrew"};
  static const Strings zh = {"AeroBrew X2", "X2", "这台咖啡机", "你们的咖啡机", "咖啡机", "这款机器"};
  return pick(l, en, zh);
}

const Strings& question_prefixes(Lang l) {
  static const Strings en = {"",         "",          "Hi, ",          "Hello! ",           "Hey there. ",
                             "Quick question: ", "Excuse me, ", "I have a question. ", "Sorry to bother you, ",
                             "Good morning. "};
  static const Strings zh = {"", "", "你好，", "您好！", "请问", "打扰一下，", "我想问一下，", "客服你好，", "在吗？"};
  return pick(l, en, zh);
}

const Strings& question_suffixes(Lang l) {
  static const Strings en = {"", "", "", " Thanks!", " Thank you.", " Please help.", " Thanks in advance."};
  static const Strings zh = {"", "", "", "谢谢！", "谢谢。", "麻烦了。", "急，在线等。"};
  return pick(l, en, zh);
}

const Strings& answer_openers(Lang l) {
  static const Strings en = {"", "", "Sure! ", "Happy to help. ", "Good question! "};
  static const Strings zh = {"", "", "您好，", "好的，", "亲，"};
  return pick(l, en, zh);
}

const Strings& follow_up_leads(Lang l) {
  static const Strings en = {"Also, ", "One more thing: ", "And ", "Another question: "};
  static const Strings zh = {"还有，", "另外，", "那", "再问一下，"};
  return pick(l, en, zh);
}

const Strings& off_topic_requests(Lang l) {
  static const Strings en = {"Can you write a poem about the sea?", "What's the weather tomorrow?",
                             "Who won the football game last night?", "Tell me a joke about cats.",
                             "Can you help me with my math homework?", "What is the capital of France?",
                             "Recommend a good movie.", "How do I bake bread?", "Translate this letter into German.",
                             "What stocks should I buy?"};
  static const Strings zh = {"帮我写一首关于大海的诗。", "明天天气怎么样？", "昨晚球赛谁赢了？", "讲个关于猫的笑话吧。",
                             "帮我做数学作业。", "法国的首都是哪里？", "推荐一部好看的电影。", "面包怎么做？",
                             "帮我把这封信翻译成德语。", "我该买哪只股票？"};
  return pick(l, en, zh);
}

const Strings& off_topic_heldout(Lang l) {
  static const Strings en = {"Write me a short story about dragons.", "Who is the best basketball player ever?",
                             "Can you plan my holiday in Spain?"};
  static const Strings zh = {"给我写一个关于龙的故事。", "谁是史上最好的篮球运动员？", "帮我规划一下去西班牙的旅行。"};
  return pick(l, en, zh);
}

std::string_view refusal(Lang l) {
  return l == Lang::kEn ? "Sorry, I can only help with questions about Nimbus Home products, orders and support."
                        : "抱歉，我只能回答云栖家居产品、订单和售后相关的问题。";
}
std::string_view refusal_fact(Lang l) { return l == Lang::kEn ? "only help" : "只能回答"; }

const Strings& greetings(Lang l) {
  static const Strings en = {"Hi!", "Hello.", "Hey", "Good afternoon!", "Hello there"};
  static const Strings zh = {"你好！", "您好。", "在吗", "下午好！", "哈喽"};
  return pick(l, en, zh);
}
std::string_view greeting_reply(Lang l) {
  return l == Lang::kEn ? "Hello! How can I help you with your Nimbus Home products today?"
                        : "您好！请问有什么关于云栖家居产品的问题可以帮您？";
}
const Strings& thanks(Lang l) {
  // Closing turns never use the thanks that end questions ("... Thanks!"), so a model can
  // tell "a question, politely" from "that was all".
  static const Strings en = {"That's all I needed.", "Great, that's everything. Bye!", "OK, all clear now. Bye!",
                             "Perfect, no more questions."};
  static const Strings zh = {"好的，没有别的问题了。", "明白了，再见！", "清楚了，就这些。", "好的，没问题了。"};
  return pick(l, en, zh);
}
std::string_view thanks_reply(Lang l) {
  return l == Lang::kEn ? "You're welcome! Have a great day." : "不客气，祝您生活愉快！";
}

std::string_view company_intro(Lang l) {
  return l == Lang::kEn
             ? "Nimbus Home makes smart kitchen appliances. Its best-known product is the AeroBrew X2, a smart "
               "coffee maker that brews from ground coffee or capsules and can be controlled from a phone."
             : "云栖家居是一家生产智能厨房电器的公司。它最有名的产品是AeroBrew X2，一款可以用咖啡粉或胶囊冲泡、"
               "并能用手机控制的智能咖啡机。";
}

const Strings& manual_headings(Lang l) {
  static const Strings en = {"AeroBrew X2 user guide", "Frequently asked questions", "Nimbus Home help center",
                             "Before you contact support", "Getting started with your AeroBrew X2"};
  static const Strings zh = {"AeroBrew X2使用手册", "常见问题", "云栖家居帮助中心", "联系客服之前", "AeroBrew X2入门指南"};
  return pick(l, en, zh);
}

std::string_view system_prompt() {
  // Short on purpose: it is in every training row, and a small model learns nothing from
  // a longer one that it would not from this.
  return "You are Nimbus Home's (云栖家居) customer service assistant.";
}

}  // namespace chatforge::demo
