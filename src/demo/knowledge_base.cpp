// The Nimbus Home knowledge base: every fact, phrasing and answer the demo's data
// generator uses. Held-out phrasings reuse the topic's words in new sentences, the way
// real customers paraphrase; they appear only in the evaluation file. The training
// phrasings are many per intent on purpose (registers from formal to terse, synonyms,
// context before the question, near-miss forms that look like off-topic requests): a
// small model keys on the topic's words only when it sees them in many sentences. Slots
// ("Is {p} under {amount}?", "Do you ship to {place}?") multiply a phrasing by the values
// customers put in it; off-topic requests come as a fixed list and as frames around
// subjects, and everyday remarks put off-topic words in front of on-topic questions.
#include "demo/knowledge_base.h"

namespace chatforge::demo {

namespace {

// Price and delivery.
void add_orders_and_money(std::vector<Intent>& v) {
  v.insert(v.end(), {
      {"price", "pricing",
       {{"What would {p} set me back?", "How much will {p} run me?", "What's the damage for {p}?",
         "How much are we talking for {p}?", "Is {p} under {amount}?", "Is {p} more than {amount}?",
         "Can I get {p} for less than {amount}?", "Will {amount} be enough for {p}?", "How many dollars is {p}?",
         "What's {p} going for?", "What's the going rate for {p}?", "What's the retail price of {p}?",
         "How much do you want for {p}?", "Does {p} cost over {amount}?",
         "How much does {p} cost?", "What is the price of {p}?", "How much is {p}?", "What does {p} sell for?",
         "Price of {p}?", "how much money is {p}", "How much would I pay for {p}?", "What do you charge for {p}?",
         "Is {p} expensive?", "What's the cost of {p}?", "how much for {p}", "How pricey is {p}?",
         "What price do you sell {p} at?", "I want to buy {p}. How much is it?", "Is {p} cheap?",
         "Roughly how much does {p} cost?", "price?", "cost of {p}", "How much are you selling {p} for?",
         "Could you help me with the price of {p}?", "Tell me how much {p} is.", "What's {p} priced at?",
         "How much money do I need for {p}?", "what does it cost"},
        {"Can you tell me what {p} costs?", "I'd like to know the price of {p}."},
        "The AeroBrew X2 costs $129.",
        {"$129"},
        {"the price of {p}", "the cost of {p}", "how much {p} costs", "pricing", "the price", "what {p} sells for"},
        {"the price", "the cost", "price"}},
       {{"{p}超过{amount}吗？", "{p}在{amount}以内吗？", "{amount}够买{p}吗？", "{p}比{amount}贵吗？", "{p}零售价多少？", "入手{p}要多少钱？",
         "{p}多少钱？", "{p}的价格是多少？", "{p}卖多少钱？", "{p}售价多少？", "请问{p}什么价格？", "{p}价格",
         "{p}要多少钱？", "{p}贵吗？", "买{p}需要多少钱？", "{p}怎么卖？", "{p}多少钱一台？", "{p}价钱是多少",
         "{p}价格贵不贵", "{p}要花多少钱", "价格多少？", "想买{p}，多少钱？", "这个多少钱", "帮我查一下{p}的价格",
         "{p}的price是多少？", "{p}什么价", "多少钱能买到{p}？", "{p}便宜吗", "price多少", "{p}定价多少？"},
        {"买一台{p}要花多少钱？", "{p}现在的价格是多少呢？"},
        "AeroBrew X2的售价是899元。",
        {"899元"},
        {"{p}的价格", "{p}的售价", "{p}多少钱", "价格", "价钱", "{p}的定价"},
        {"价格", "价钱", "多少钱"}}},
      {"shipping_time", "shipping",
       {{"How quick is delivery?", "How quickly do you ship {p}?", "What's the usual wait for {p}?",
         "How long do I have to wait for my order?", "When can I expect {p}?", "When should I expect my package?",
         "What's your delivery turnaround?", "How long until {p} shows up?", "Do you deliver fast?",
         "How long does shipping take?", "When will my order arrive?", "How long is delivery?",
         "How many days until {p} arrives?", "What is the delivery time?", "how long to ship {p}",
         "How fast do you deliver?", "When will {p} be delivered?", "How soon can I get {p}?",
         "how many days for delivery", "When does my package come?", "How long will I wait for {p}?",
         "Will bad weather delay my delivery?", "How quickly will {p} get to me?", "delivery time?",
         "I ordered {p} yesterday. When does it arrive?", "How long until my order gets here?",
         "Is delivery fast?", "How long does it take to receive {p}?", "When can I expect delivery?",
         "How many business days is shipping?", "shipping time"},
        {"How long will delivery of {p} take?", "How many days does shipping usually take?"},
        "Orders ship within 24 hours and arrive in 3 to 5 business days.",
        {"3 to 5 business days"},
        {"the delivery time", "how long shipping takes", "when my order will arrive", "delivery speed",
         "shipping times", "how fast you deliver"},
        {"delivery time", "how long delivery takes", "the delivery time"}},
       {{"要等几天才能收到{p}？", "一般多久能收到包裹？", "下单后要等多久？", "发货快吗，几天到？",
         "多久能到货？", "发货后几天能收到？", "快递要几天？", "配送需要多长时间？", "{p}下单后多久送到？", "几天到货",
         "什么时候能收到{p}？", "送货要多久？", "你们发货快不快？", "{p}几天能到？", "下单后多久能收到？",
         "快递多久到", "我的订单什么时候到？", "物流要几天？", "{p}什么时候发货，几天到？", "配送时间多长",
         "昨天买了{p}，什么时候能到？", "到货要等几天", "天气不好会影响送货时间吗？", "送到家要多少天？",
         "delivery要几天？", "收货大概要几天"},
        {"买了{p}大概几天能收到？", "配送一般需要几天？"},
        "订单24小时内发货，3到5个工作日送达。",
        {"3到5个工作日"},
        {"到货时间", "配送时间", "快递几天到", "送货时间", "物流时效", "发货速度"},
        {"到货时间", "配送时间", "送货时间"}}},
      {"shipping_cost", "shipping",
       {{"What's the postage on {p}?", "Is there postage to pay?", "Do I pay extra for delivery?",
         "Does delivery cost extra?", "Will shipping add to the total?", "Are there extra delivery charges?",
         "Is postage included?", "Do you charge extra to deliver {p}?",
         "Is shipping free?", "How much is shipping?", "What does delivery cost?", "Do you charge for shipping?",
         "Are there shipping fees for {p}?", "shipping cost", "Is delivery free?", "How much do you charge for delivery?",
         "What's the shipping fee?", "Do I pay for delivery?", "free shipping?", "How much is delivery for {p}?",
         "Is there a delivery charge?", "When is shipping free?", "Is shipping included in the price?",
         "How much does it cost to ship {p}?", "Do you offer free delivery?", "What are your delivery fees?",
         "Will I be charged for shipping?", "shipping fee", "Is there free shipping on {p}?", "delivery cost?"},
        {"Do I have to pay for shipping?", "What are the shipping charges?"},
        "Shipping is free on orders over $50; smaller orders pay $5.",
        {"free", "$50"},
        {"the shipping fee", "the cost of shipping", "free shipping", "delivery fees", "shipping costs",
         "the delivery charge"},
        {"shipping", "the shipping fee", "delivery fees", "shipping costs"}},
       {{"邮费要另外付吗？", "送货要加钱吗？", "运费包含在价格里吗？", "寄{p}要额外收费吗？",
         "包邮吗？", "运费多少？", "需要付运费吗？", "邮费怎么算？", "买{p}要运费吗？", "运费", "免运费吗？",
         "运费怎么收？", "送货收费吗？", "快递费多少钱？", "{p}包邮吗？", "多少钱包邮？", "需要另外付邮费吗",
         "运费谁出？", "配送要收钱吗？", "买{p}要付快递费吗？", "满多少免运费？", "运费贵吗", "有运费吗",
         "邮费多少", "shipping要钱吗？", "快递免费吗？"},
        {"运费是多少钱？", "你们家包不包邮？"},
        "订单满300元包邮，不满300元收取10元运费。",
        {"满300元包邮"},
        {"运费", "包邮政策", "邮费", "快递费", "配送费用", "运费标准"},
        {"运费", "快递费", "配送费"}}},
  });
}

// Returns, the warranty and refunds.
void add_returns_and_refunds(std::vector<Intent>& v) {
  v.insert(v.end(), {
      {"returns", "returns",
       {{"Can I get my money back if I don't like {p}?", "What if {p} isn't right for me?",
         "Can I return {p} if I change my mind?", "Can I return an opened box?", "Do you take back {p} once opened?",
         "I don't want {p} anymore. Can I return it?",
         "What is your return policy?", "Can I return {p}?", "How do I return an item?",
         "How long do I have to return {p}?", "Can I send {p} back?", "return policy", "Can I get a refund if I don't like {p}?",
         "I don't want {p} anymore. Can I return it?", "Do you accept returns?", "How many days do I have for a return?",
         "Is {p} returnable?", "Can I return {p} after opening it?", "I changed my mind about {p}. Can I send it back?",
         "returns?", "What if I'm not happy with {p}?", "How does returning {p} work?", "Can I exchange or return {p}?",
         "I'd like to return my order.", "What's your refund policy?", "Can you help me with a return?",
         "is there a return window", "Can I give {p} back?"},
        {"Is it possible to return {p} if I don't like it?", "What's the return window?"},
        "You can return any product within 30 days of delivery for a full refund.",
        {"30 days"},
        {"the return policy", "returning {p}", "sending {p} back", "returns", "your refund policy",
         "the return period"},
        {"returns", "the return policy", "returning it"}},
       {{"不喜欢{p}可以退吗？", "拆封了还能退吗？", "{p}买了不想要了，能退货吗？",
         "可以退货吗？", "退货政策是什么？", "{p}能退吗？", "怎么退货？", "多少天内可以退货？", "退货", "不满意可以退吗？",
         "{p}不想要了可以退吗？", "退货期限是几天？", "买了{p}能退掉吗？", "拆开了还能退吗？", "支持无理由退货吗？",
         "怎么申请退货？", "我想退货", "{p}可以退换吗？", "退货要在几天内？", "不喜欢能退款吗？", "能帮我办理退货吗？",
         "{p}可以return吗？", "退货规则是什么", "几天内能退", "收到{p}后能退吗？"},
        {"{p}不喜欢的话能退货吗？", "退货期限是多久？"},
        "收货后30天内可以无理由退货，全额退款。",
        {"30天"},
        {"退货政策", "退货", "{p}退货", "退货期限", "无理由退货", "退换货"},
        {"退货", "退货政策", "退换货"}}},
      {"warranty", "returns",
       {{"How long is the warranty?", "Does {p} have a warranty?", "What warranty comes with {p}?",
         "Is {p} under warranty?", "How long is {p} covered by warranty?", "warranty length", "What's the warranty on {p}?",
         "How many years is {p} covered?", "{p} broke. Is it covered?", "Do you repair {p} for free if it breaks?",
         "Is there a guarantee on {p}?", "How long does the warranty on {p} last?", "warranty?",
         "What happens if {p} stops working?", "Will you fix {p} if it breaks?", "How long is the guarantee?",
         "What does the warranty cover?", "Is {p} still covered after a year?", "Can you help me with a warranty claim?",
         "warranty period", "Does the warranty last long?", "What coverage do I get with {p}?"},
        {"How many years of warranty do I get?", "What is the warranty period for {p}?"},
        "The AeroBrew X2 comes with a 2-year warranty.",
        {"2-year warranty"},
        {"the warranty", "the warranty length", "warranty coverage for {p}", "the guarantee", "repairs under warranty",
         "the warranty period"},
        {"the warranty", "warranty", "the guarantee"}},
       {{"保修多久？", "{p}有质保吗？", "质保期是多长？", "保修期多长时间？", "{p}保修几年？", "保修", "{p}坏了保修吗？",
         "质保多久", "{p}保修多长时间？", "坏了能免费维修吗？", "{p}的质保是多久？", "保修是几年？", "用坏了包修吗？",
         "{p}出故障了在保修期吗？", "保修期内免费修吗？", "有没有质保？", "质保几年", "{p}坏了怎么办，保修吗？",
         "{p}的warranty多久？", "保修政策是什么", "保修时间多长", "维修保修多久"},
        {"{p}的保修期是几年？", "质保是多长时间？"},
        "AeroBrew X2提供两年质保。",
        {"两年"},
        {"保修", "质保期", "{p}的保修", "保修政策", "质保", "售后保修"},
        {"保修", "质保", "保修期"}}},
      {"refund_time", "returns",
       {{"When will I get my refund?", "How long does a refund take?", "How fast are refunds?",
         "When does the refund arrive?", "How many days for a refund?", "refund time", "I returned {p}. When do I get my money?",
         "How soon will I be refunded?", "When will the money be back in my account?", "How long until my refund shows up?",
         "refund?", "Where is my refund?", "How many days until I get my money back?", "When do refunds get paid?",
         "I sent {p} back. How long for the refund?", "How long do refunds take to process?",
         "Can you tell me when my refund comes?", "How quickly do you refund?", "When is the refund paid out?",
         "money back how long", "How long before I see the refund?", "refund timing?"},
        {"How long do I wait for the refund?", "When can I expect my refund?"},
        "Refunds reach your account within 5 to 7 business days after we receive the return.",
        {"5 to 7 business days"},
        {"refund timing", "how long a refund takes", "when I get my refund", "the refund time", "my refund",
         "refund processing"},
        {"the refund", "the refund time", "my money back"}},
       {{"退款多久到账？", "什么时候能收到退款？", "退款要几天？", "退款需要多长时间？", "钱多久能退回来？", "退款",
         "退货后多久退款？", "退款几天到？", "我的钱什么时候退回？", "退款什么时候到账", "已经退货了，钱什么时候到？",
         "退款慢吗？", "多久能拿到退款？", "退款到账要多久", "寄回{p}后多久退钱？", "退款处理要几天？",
         "钱退到哪里，要几天？", "退款进度怎么样，一般几天？", "refund要几天？", "退的钱多久到", "几天退款",
         "收到退款要等多久"},
        {"退款一般几天到账？", "我的退款什么时候到？"},
        "我们收到退货后，退款会在5到7个工作日内到账。",
        {"5到7个工作日"},
        {"退款时间", "退款到账", "退款多久到", "退款进度", "退款速度", "退钱时间"},
        {"退款", "退款时间", "退钱"}}},
  });
}

// The machine itself: capacity, colours, descaling, resetting and the app.
void add_the_product(std::vector<Intent>& v) {
  v.insert(v.end(), {
      {"capacity", "product",
       {{"Is the water tank enough for {n} people?", "How many people can {p} serve before a refill?",
         "Is the tank big enough for the whole office?", "How many cups before I refill {p}?",
         "How big is the water tank?", "What is the tank capacity?", "How much water does {p} hold?",
         "How many cups can {p} make?", "What size is the water tank?", "tank size", "How many liters is the tank?",
         "How many cups per tank?", "How much water fits in {p}?", "Is the water tank large?", "water tank capacity?",
         "How often do I refill the water tank?", "What's the reservoir capacity of {p}?", "How much water can {p} take?",
         "How many coffees can I make before refilling?", "Is the tank big?", "How large is the tank on {p}?",
         "tank capacity", "What volume is the water tank?", "How much water does the tank take?",
         "How many cups of coffee from one tank?", "water tank?"},
        {"How many liters does the tank of {p} hold?", "What's the capacity of the water tank?"},
        "The water tank holds 1.5 liters, enough for about 10 cups.",
        {"1.5 liters"},
        {"the water tank size", "the tank capacity", "how much water {p} holds", "the water tank", "the reservoir",
         "tank volume"},
        {"the water tank", "the tank size", "the tank capacity"}},
       {{"水箱够{n}个人喝吗？", "一箱水够几个人喝？", "加一次水能做几杯？",
         "水箱多大？", "水箱容量是多少？", "{p}能装多少水？", "一箱水能做几杯？", "水箱有几升？", "水箱容量",
         "{p}的水箱多大？", "水箱能装几升？", "加一次水能做几杯咖啡？", "水箱大吗？", "{p}水箱容量多少", "多久加一次水？",
         "储水量多少？", "水箱够用吗？", "{p}能装几升水", "水箱尺寸", "{p}的水箱容量是多少？", "水箱多少升",
         "一次能加多少水", "水箱的大小", "{p}的water tank多大？", "水箱能做几杯"},
        {"{p}的水箱能装几升水？", "水箱的容量有多大？"},
        "水箱容量为1.5升，大约可以做10杯咖啡。",
        {"1.5升"},
        {"水箱容量", "水箱大小", "{p}的水箱", "储水量", "水箱", "水箱的容积"},
        {"水箱", "水箱容量", "水箱大小"}}},
      {"colors", "product",
       {{"Is there a {color} model?", "Does {p} come in {color}?", "Can I get {p} in {color}?",
         "Is {p} available in {color}?", "Do you sell a {color} version of {p}?", "Any colors besides {color}?",
         "Is {p} sold in {color}?", "I'd like a {color} one. Do you have it?",
         "What colors are available?", "Which colors does {p} come in?", "Do you have {p} in red?",
         "Is there a white version of {p}?", "What color options are there?", "colors", "What colors can I choose?",
         "Does {p} come in black?", "How many colors are there?", "Is {p} available in other colors?",
         "What colour is {p}?", "Which colour should I pick?", "Do you have a blue one?", "color options?",
         "Can I choose the color of {p}?", "Is there a red {p}?", "What finishes does {p} come in?",
         "Tell me the colors of {p}.", "Which colours are there?", "What colors do you sell?", "colour choices",
         "Is {p} only sold in one color?"},
        {"Can I get {p} in a different color?", "What color choices do you offer?"},
        "The AeroBrew X2 comes in black, white and red.",
        {"black", "white", "red"},
        {"the colors of {p}", "color options", "which colors are available", "the colours", "available colors",
         "the color choices"},
        {"colors", "the colors", "the colours", "color options"}},
       {{"{p}有{color}的吗？", "有没有{color}款？", "能买到{color}的{p}吗？", "除了{color}还有别的颜色吗？",
         "有哪些颜色？", "{p}有什么颜色？", "有红色的吗？", "有白色款吗？", "颜色可以选吗？", "颜色", "{p}有几种颜色？",
         "有黑色的吗？", "颜色有哪几种？", "{p}有别的颜色吗？", "可以选颜色吗", "{p}是什么颜色的？", "有蓝色的吗？",
         "配色有哪些？", "有几个颜色", "{p}颜色多吗？", "能选红色吗", "都有什么配色", "{p}出哪些颜色",
         "颜色怎么选", "{p}有color可选吗？", "哪些颜色有货"},
        {"{p}一共有几种颜色？", "可以选择什么颜色？"},
        "AeroBrew X2有黑色、白色和红色三种颜色。",
        {"黑色", "白色", "红色"},
        {"颜色", "{p}的颜色", "可选颜色", "配色", "颜色选择", "外观颜色"},
        {"颜色", "配色", "可选颜色"}}},
      {"descale", "product",
       {{"How often should I descale {p}?", "When do I need to descale?", "How do I descale the machine?",
         "Does {p} need descaling?", "How often should the machine be descaled?", "descaling", "How often do I remove limescale?",
         "When should {p} be descaled?", "Do I need to descale {p} often?", "How frequently do I descale?",
         "limescale?", "Is descaling necessary?", "How do I get rid of scale in {p}?", "How often to descale?",
         "Should I descale every week?", "My coffee tastes bitter. Do I need to descale {p}?", "descale how often",
         "How often does {p} need a descale?", "When is it time to descale?", "What's the descaling routine for {p}?",
         "How do I clean out the limescale?", "Do I have to descale {p}?"},
        {"How frequently should descaling be done?", "What is the descaling schedule for {p}?"},
        "Descale the machine every 3 months with the included descaling solution.",
        {"every 3 months"},
        {"descaling {p}", "how often to descale", "the descaling interval", "limescale removal", "descaling",
         "removing limescale"},
        {"descaling", "limescale", "the descaling"}},
       {{"多久除垢一次？", "{p}需要除垢吗？", "怎么除垢？", "除垢频率是多少？", "机器多久要除垢？", "除垢", "水垢怎么清理？",
         "多长时间除一次水垢？", "{p}要经常除垢吗？", "除水垢多久一次", "什么时候该除垢？", "{p}多久除一次垢？",
         "每周都要除垢吗？", "咖啡变苦了，要除垢吗？", "除垢剂怎么用，多久一次？", "水垢", "{p}怎么清除水垢？",
         "除垢周期", "需要定期除垢吗", "多久清一次水垢", "descale多久一次？", "除垢的频率"},
        {"{p}应该多长时间除一次垢？", "除垢要隔多久？"},
        "建议每3个月用附带的除垢剂除垢一次。",
        {"每3个月"},
        {"除垢", "除垢频率", "{p}除垢", "水垢清理", "除水垢", "除垢周期"},
        {"除垢", "水垢", "除垢频率"}}},
      {"reset", "troubleshooting",
       {{"How do I reset {p}?", "How can I restore factory settings?", "{p} is frozen, how do I restart it?",
         "What is the reset procedure?", "How to factory reset {p}?", "reset", "{p} is not responding. What do I do?",
         "How do I reboot {p}?", "{p} is stuck. How do I restart it?", "How do I restore {p} to factory defaults?",
         "factory reset?", "The buttons on {p} don't work. How can I reset it?", "How long do I press the button to reset?",
         "Is there a way to restart {p}?", "How do I clear all settings on {p}?", "{p} hangs, what now?",
         "reboot", "My machine froze.", "How do I do a hard reset?", "How do I reset the machine to default?",
         "{p} won't respond to buttons.", "restart {p}"},
        {"What should I do to reset the machine?", "Is there a way to reset {p}?"},
        "Hold the power button for 10 seconds until the light blinks; the X2 then restarts with factory settings.",
        {"10 seconds"},
        {"resetting {p}", "a factory reset", "how to reset {p}", "restarting {p}", "the reset procedure",
         "factory settings"},
        {"a reset", "resetting it", "a factory reset"}},
       {{"怎么重置{p}？", "如何恢复出厂设置？", "{p}死机了怎么重启？", "重置步骤是什么？", "怎样恢复出厂？", "重置",
         "{p}没反应了怎么办？", "{p}卡住了怎么重启？", "怎么重启{p}？", "恢复出厂设置怎么弄？", "{p}按键没反应",
         "机器死机了", "重启方法", "怎么清除{p}的设置？", "重置要按多久？", "{p}不工作了，怎么重置？",
         "出厂设置怎么恢复", "{p}怎么reset？", "{p}没有响应怎么办", "强制重启怎么操作", "怎么复位{p}？", "重新启动{p}"},
        {"{p}要怎么重置？", "有办法重置机器吗？"},
        "长按电源键10秒，指示灯闪烁后即恢复出厂设置。",
        {"10秒"},
        {"重置", "恢复出厂设置", "{p}的重置方法", "重启", "出厂设置", "复位"},
        {"重置", "重启", "恢复出厂"}}},
      {"app", "product",
       {{"Is there an app?", "Which app controls {p}?", "Can I control {p} from my phone?", "What app do I need?",
         "Does {p} work with a phone app?", "app", "Is there a mobile app for {p}?", "What's the app called?",
         "Can I use my phone with {p}?", "Is the app free?", "Does {p} have an iPhone app?", "Is there an Android app?",
         "Can I operate {p} remotely?", "app name?", "Which app do I download?", "Can I brew coffee from my phone?",
         "Recommend an app for {p}.", "What app works with {p}?", "phone app", "Is there software for {p}?",
         "Can I schedule coffee with an app?", "Where do I get the app for {p}?"},
        {"What is the name of the app for {p}?", "Which phone app should I download?"},
        "Use the free Nimbus Home app, available for iOS and Android.",
        {"Nimbus Home app"},
        {"the phone app", "the app for {p}", "controlling {p} from my phone", "the mobile app", "remote control",
         "the app"},
        {"the app", "the phone app", "the mobile app"}},
       {{"有App吗？", "用什么App控制{p}？", "可以用手机控制{p}吗？", "需要下载什么App？", "{p}支持手机App吗？", "App",
         "{p}有手机应用吗？", "App叫什么？", "手机能控制{p}吗？", "App要钱吗？", "苹果手机有App吗？", "安卓有App吗？",
         "怎么远程控制{p}？", "用手机能煮咖啡吗？", "下载哪个应用？", "{p}配套的App是哪个", "手机应用", "有没有手机软件",
         "推荐一个控制{p}的App", "{p}的app在哪下载", "能用App预约煮咖啡吗？", "手机App叫什么名字"},
        {"控制{p}的App叫什么？", "手机上该下载哪个App？"},
        "请使用免费的云栖家居App，支持iOS和安卓。",
        {"云栖家居App"},
        {"手机App", "{p}的App", "用手机控制{p}", "手机应用", "远程控制", "App"},
        {"App", "手机App", "手机应用"}}},
  });
}

// Troubleshooting: the Wi-Fi connection and the two error codes.
void add_troubleshooting(std::vector<Intent>& v) {
  v.insert(v.end(), {
      {"wifi", "troubleshooting",
       {{"Does {p} support 5 GHz Wi-Fi?", "Why can't {p} connect to Wi-Fi?", "Which Wi-Fi does {p} use?",
         "I have Wi-Fi connection problems.", "What Wi-Fi band is supported?", "wifi", "{p} won't connect to the internet.",
         "Can {p} use 5 GHz?", "Why does {p} keep dropping Wi-Fi?", "The app can't find {p}.", "wifi not working",
         "What network does {p} need?", "{p} can't connect to my router.", "Does {p} work with 5G Wi-Fi?",
         "Wi-Fi setup fails.", "What wireless band does {p} support?", "How do I connect {p} to Wi-Fi?",
         "network problems with {p}", "Is 2.4 or 5 GHz needed?", "{p} is offline in the app.", "wireless?",
         "Why won't {p} pair?"},
        {"Why won't {p} join my Wi-Fi network?", "Can {p} use 5 GHz Wi-Fi?"},
        "The AeroBrew X2 connects to 2.4 GHz Wi-Fi only; 5 GHz networks are not supported.",
        {"2.4 GHz"},
        {"the Wi-Fi connection", "Wi-Fi support on {p}", "connecting {p} to Wi-Fi", "the wireless network",
         "Wi-Fi problems", "the Wi-Fi band"},
        {"Wi-Fi", "the Wi-Fi", "the wireless connection"}},
       {{"支持5GHz的Wi-Fi吗？", "{p}连不上Wi-Fi怎么办？", "{p}支持什么Wi-Fi？", "Wi-Fi连接失败怎么办？",
         "支持哪个Wi-Fi频段？", "Wi-Fi", "{p}连不上网", "能连5G的Wi-Fi吗？", "{p}老是掉线", "App搜不到{p}",
         "无线网连不上", "{p}需要什么网络？", "{p}连不上路由器", "配网失败怎么办？", "{p}怎么连Wi-Fi？", "网络连接问题",
         "{p}支持5G吗？", "Wi-Fi频段有要求吗？", "{p}显示离线", "wifi连不上", "无线网络设置失败", "{p}配对不上"},
        {"{p}为什么连不上家里的Wi-Fi？", "能用5GHz的Wi-Fi吗？"},
        "AeroBrew X2只支持2.4GHz的Wi-Fi，不支持5GHz。",
        {"2.4GHz"},
        {"Wi-Fi连接", "{p}的Wi-Fi", "Wi-Fi频段", "无线网络", "联网", "配网"},
        {"Wi-Fi", "无线网", "联网"}}},
      {"error_e1", "troubleshooting",
       {{"{p} shows E1. Is it broken?", "E1 came up and {p} stopped. Is it faulty?", "Does E1 mean {p} is broken?",
         "My coffee maker says E1, is something wrong?", "E1 appeared this morning. What's the problem?",
         "What does error E1 mean?", "{p} shows E1.", "E1 on the display?", "I see code E1, what should I do?",
         "How do I fix error E1?", "E1", "{p} says E1.", "Error E1?", "What is E1?", "E1 is flashing on {p}.",
         "The display shows E1.", "Got an E1 error.", "What does the E1 code mean on {p}?", "E1 keeps coming up.",
         "How do I clear E1?", "{p} won't brew and shows E1.", "e1 error", "What's wrong when {p} shows E1?",
         "E1 appeared on the screen.", "Help with error E1", "E1 message on {p}", "Code E1 on the screen."},
        {"The screen says E1. What's wrong?", "Why is {p} showing E1?"},
        "Error E1 means the water tank is empty. Refill it and press start.",
        {"water tank is empty"},
        {"error E1", "the E1 code", "what E1 means", "the E1 error", "E1", "code E1"},
        {"E1", "error E1", "the E1 code"}},
       {{"{p}显示E1，是坏了吗？", "出现E1是不是机器坏了？", "早上出现E1，怎么回事？",
         "E1是什么意思？", "{p}显示E1。", "屏幕出现E1？", "出现E1代码怎么办？", "怎么解决E1错误？", "E1", "{p}报E1",
         "E1错误", "显示E1怎么办", "E1一直闪", "{p}出现E1", "E1代码是什么", "屏幕显示E1不工作", "E1怎么处理？",
         "报错E1", "{p}提示E1", "E1故障", "出了E1错误", "E1是什么问题", "{p}屏幕上有E1", "e1怎么办", "显示E1"},
        {"屏幕上显示E1是怎么回事？", "{p}为什么显示E1？"},
        "E1表示水箱缺水，加水后按开始键即可。",
        {"缺水"},
        {"E1错误", "E1代码", "显示E1", "E1故障", "E1", "报错E1"},
        {"E1", "E1错误", "E1代码"}}},
      {"error_e2", "troubleshooting",
       {{"{p} shows E2. Is it broken?", "E2 came up and {p} stopped. Is it faulty?", "Does E2 mean {p} is broken?",
         "My coffee maker says E2, is something wrong?", "E2 appeared this morning. What's the problem?",
         "What does error E2 mean?", "{p} shows E2.", "E2 on the display?", "I see code E2, what should I do?",
         "How do I fix error E2?", "E2", "{p} says E2.", "Error E2?", "What is E2?", "E2 is flashing on {p}.",
         "The display shows E2.", "Got an E2 error.", "What does the E2 code mean on {p}?", "E2 keeps coming up.",
         "How do I clear E2?", "{p} stopped and shows E2.", "e2 error", "What's wrong when {p} shows E2?",
         "E2 appeared on the screen.", "Help with error E2", "E2 message on {p}", "Code E2 on the screen."},
        {"The screen says E2. What's wrong?", "Why is {p} showing E2?"},
        "Error E2 means the machine is overheating. Unplug it for 30 minutes, then try again.",
        {"overheating", "30 minutes"},
        {"error E2", "the E2 code", "what E2 means", "the E2 error", "E2", "code E2"},
        {"E2", "error E2", "the E2 code"}},
       {{"{p}显示E2，是坏了吗？", "出现E2是不是机器坏了？", "早上出现E2，怎么回事？",
         "E2是什么意思？", "{p}显示E2。", "屏幕出现E2？", "出现E2代码怎么办？", "怎么解决E2错误？", "E2", "{p}报E2",
         "E2错误", "显示E2怎么办", "E2一直闪", "{p}出现E2", "E2代码是什么", "屏幕显示E2停了", "E2怎么处理？",
         "报错E2", "{p}提示E2", "E2故障", "出了E2错误", "E2是什么问题", "{p}屏幕上有E2", "e2怎么办", "显示E2"},
        {"屏幕上显示E2是怎么回事？", "{p}为什么显示E2？"},
        "E2表示机器过热，请拔掉电源30分钟后再试。",
        {"过热", "30分钟"},
        {"E2错误", "E2代码", "显示E2", "E2故障", "E2", "报错E2"},
        {"E2", "E2错误", "E2代码"}}},
  });
}

// Support, contact, payment, orders and the account.
void add_the_account(std::vector<Intent>& v) {
  v.insert(v.end(), {
      {"support_hours", "account",
       {{"Is anyone available {day}?", "Can I call you {day}?", "Are you open {day}?", "Can I reach a person {day}?",
         "Is support open {day}?", "Can I talk to someone {day}?",
         "What are your support hours?", "When is customer service open?", "When can I call support?",
         "Are you open on weekends?", "What time does support close?", "support hours", "What are your opening hours?",
         "When are you available?", "Is support open on Sunday?", "What time does customer service open?",
         "Can I call you in the evening?", "hours?", "When can I talk to someone?", "Are you open today?",
         "What days is support open?", "Until what time can I call?", "What time do you open?", "office hours",
         "Is customer service available at night?", "When do your agents work?", "customer service hours?",
         "What are the hours of the help line?"},
        {"What hours can I reach customer service?", "When is your support team available?"},
        "Our support team is available Monday to Friday, 9am to 6pm.",
        {"9am to 6pm"},
        {"your support hours", "customer service opening times", "when support is open", "opening hours",
         "support availability", "business hours"},
        {"support hours", "your hours", "opening hours"}},
       {{"{day}有人工客服吗？", "客服{day}上班吗？", "{day}能打电话咨询吗？", "{day}有人在吗？",
         "客服几点上班？", "客服工作时间是什么？", "什么时候可以联系客服？", "周末有客服吗？", "客服几点下班？", "客服时间",
         "客服什么时候在？", "人工客服几点有？", "周日客服上班吗？", "晚上有客服吗？", "客服营业时间", "几点可以打电话？",
         "客服上班时间是几点到几点", "今天客服在吗？", "客服周几上班？", "客服早上几点开始？", "工作时间",
         "什么时间能找到客服", "客服晚上几点下班", "节假日有客服吗", "support几点上班？", "客服在线时间"},
        {"人工客服什么时间在线？", "客服的服务时间是几点到几点？"},
        "客服时间为周一至周五9点到18点。",
        {"9点到18点"},
        {"客服时间", "客服工作时间", "人工客服上班时间", "营业时间", "客服在线时间", "服务时间"},
        {"客服时间", "上班时间", "服务时间"}}},
      {"contact", "account",
       {{"How can I contact you?", "How do I reach customer support?", "Is there a help center?",
         "Where can I get help with {p}?", "How do I talk to a person?", "contact", "How do I get in touch?",
         "Who do I contact about {p}?", "Is there a support website?", "Can I chat with an agent?",
         "How do I reach a human?", "contact info?", "Where do I find support?", "How can I get help?",
         "What's your support website?", "Is there live chat?", "I need to speak to customer service.",
         "Can you help me contact support?", "support contact", "Where is the help center?", "How do I contact Nimbus Home?",
         "Who can help me with {p}?"},
        {"What's the best way to get in touch with support?", "Where do I go for help with {p}?"},
        "Visit our Help Center at help.nimbus-home.example or use the live chat in the app.",
        {"help.nimbus-home.example"},
        {"contacting support", "the help center", "how to reach you", "customer support", "live chat",
         "getting help"},
        {"contacting you", "the help center", "customer support"}},
       {{"怎么联系你们？", "如何联系客服？", "有帮助中心吗？", "{p}出问题去哪里求助？", "怎么找人工客服？", "联系方式",
         "怎么找客服？", "有在线客服吗？", "客服网站是什么？", "去哪里找人帮忙？", "能和人工客服聊吗？", "{p}坏了找谁？",
         "怎么联系云栖家居？", "帮助中心在哪？", "售后怎么联系", "有客服电话吗", "我要找人工", "在哪里咨询{p}的问题？",
         "联系客服的方式", "support怎么联系？", "客服在哪", "怎么找到售后"},
        {"联系客服最好的办法是什么？", "{p}有问题应该去哪里找帮助？"},
        "请访问帮助中心help.nimbus-home.example，或在App里使用在线客服。",
        {"help.nimbus-home.example"},
        {"联系客服", "帮助中心", "联系方式", "在线客服", "售后联系方式", "人工客服"},
        {"联系方式", "帮助中心", "在线客服"}}},
      {"payment", "account",
       {{"Can I use {card} to pay for {p}?", "Do you take {card}?", "Is {card} accepted?", "Can I pay with {card}?",
         "What payment methods work on your site?", "How do I pay for my order?", "Can I buy {p} with {card}?",
         "What payment methods do you accept?", "Can I pay with PayPal?", "Do you take credit cards?",
         "How can I pay for {p}?", "Which cards do you accept?", "payment", "Do you accept Visa?", "Can I pay by Mastercard?",
         "How do I pay?", "What are the payment options?", "Is PayPal accepted?", "Can I pay with a debit card?",
         "payment methods?", "Which payment methods work?", "Do you take Mastercard?", "Can I use a credit card for {p}?",
         "What ways can I pay?", "pay with card?", "Do you accept Apple Pay?",
         "Can you help me with payment?", "What kind of payment is OK?"},
        {"What are my options for paying?", "Can I buy {p} with a credit card?"},
        "We accept Visa, Mastercard and PayPal.",
        {"Visa", "PayPal"},
        {"payment methods", "paying with a credit card", "how to pay", "payment options", "paying", "PayPal"},
        {"payment", "payment methods", "paying"}},
       {{"可以用{card}付款吗？", "支持{card}吗？", "能用{card}买{p}吗？", "网站上能用什么付钱？",
         "支持哪些付款方式？", "可以用支付宝吗？", "能用微信付款吗？", "怎么付款买{p}？", "可以刷卡吗？", "付款方式",
         "能用银行卡吗？", "支持微信支付吗？", "怎么付钱？", "付款有哪些方式？", "支付宝能用吗？", "可以用信用卡买{p}吗？",
         "支付方式", "能扫码支付吗？", "微信能付吗", "怎么支付", "支持什么支付", "下单后怎么付款？", "能用payment卡吗？",
         "付款方法", "可以刷银行卡吗", "买{p}怎么付钱"},
        {"买{p}能用什么方式支付？", "付款可以用哪些方式？"},
        "支持支付宝、微信支付和银行卡付款。",
        {"支付宝", "微信支付"},
        {"付款方式", "支付方式", "怎么付款", "支付", "付款", "付钱方式"},
        {"付款方式", "支付方式", "付款"}}},
      {"track_order", "account",
       {{"How do I track my order?", "Where is my package?", "Can I see the tracking number?",
         "How can I check my order status?", "Where can I track {p}?", "track order", "Where is my order?",
         "How do I find my tracking number?", "Has my order shipped?", "Can I track my delivery?", "order status?",
         "Where can I see my order?", "My package hasn't arrived. Where is it?", "How do I check where {p} is?",
         "tracking number?", "Is my order on the way?", "Where do I see the shipping status?", "tracking",
         "How can I follow my package?", "Can you help me find my order?", "Where is {p} now?", "track my package"},
        {"How do I find out where my order is?", "Where do I check the shipping status of {p}?"},
        "Open the app and go to My Orders to see the tracking number.",
        {"My Orders"},
        {"tracking my order", "my order status", "the tracking number", "order tracking", "my package",
         "the shipping status"},
        {"tracking", "the tracking number", "order tracking"}},
       {{"怎么查物流？", "我的包裹到哪了？", "在哪看快递单号？", "怎么查看订单状态？", "{p}的物流在哪查？", "查物流",
         "订单到哪了？", "快递单号在哪？", "我的订单发货了吗？", "怎么跟踪包裹？", "物流信息在哪看", "包裹还没到，在哪？",
         "怎么查{p}到哪了？", "订单状态", "快递到哪里了", "在哪查订单？", "发货了吗", "物流单号", "查一下我的订单",
         "tracking在哪看？", "我的{p}到哪了？", "怎么看快递进度"},
        {"我想知道订单现在到哪里了？", "在哪里能查到{p}的配送状态？"},
        "打开App进入“我的订单”即可查看物流单号。",
        {"我的订单"},
        {"物流信息", "订单状态", "快递单号", "物流", "订单进度", "包裹位置"},
        {"物流", "物流信息", "快递单号"}}},
      {"cancel_order", "account",
       {{"I ordered by mistake, can I cancel?", "Can I undo my order?", "Can I take back my order?",
         "I changed my mind about my order. Can I cancel it?", "I placed an order an hour ago. Can I stop it?",
         "Can I cancel my order?", "How do I cancel an order?", "I want to cancel my purchase of {p}.",
         "Is it too late to cancel?", "How long do I have to cancel an order?", "cancel order", "Can I still cancel?",
         "I want to cancel.", "How do I cancel {p}?", "Can an order be cancelled?", "cancel?", "I ordered the wrong thing. Can I cancel?",
         "What's the cancellation deadline?", "Can I cancel after paying?", "Please cancel my order.",
         "How late can I cancel?", "I don't want {p} anymore, cancel the order.", "cancellation",
         "Can you help me cancel my order?", "Is cancelling possible?", "Can I cancel {p} before it ships?",
         "cancel my purchase"},
        {"Is it possible to cancel the order I just placed?", "Until when can I cancel my order for {p}?"},
        "You can cancel an order within 24 hours of placing it, as long as it has not shipped.",
        {"24 hours of placing"},
        {"cancelling my order", "order cancellation", "how to cancel an order", "cancellation", "cancelling",
         "the cancellation deadline"},
        {"cancelling", "cancellation", "cancelling my order"}},
       {{"下错单了能取消吗？", "订单能撤回吗？", "刚下的单不想要了，能取消吗？",
         "可以取消订单吗？", "怎么取消订单？", "我想取消购买{p}。", "现在还能取消吗？", "多久内可以取消订单？", "取消订单",
         "订单能取消吗？", "我要取消", "{p}的订单怎么取消？", "买错了想取消", "取消", "付款后能取消吗？", "帮我取消订单",
         "多晚还能取消？", "不想要{p}了，取消订单", "取消的期限", "发货前能取消吗", "订单取消", "能撤单吗",
         "cancel订单怎么弄？", "下单后能取消吗", "怎么撤销订单"},
        {"刚下的单还能取消吗？", "{p}的订单什么时候之前可以取消？"},
        "下单后24小时内且未发货的订单可以取消。",
        {"下单后24小时"},
        {"取消订单", "订单取消", "怎么取消订单", "撤单", "取消期限", "取消"},
        {"取消订单", "撤单", "取消"}}},
      {"password", "account",
       {{"I forgot my password.", "How do I reset my password?", "I can't log in to my account.",
         "How can I change my password?", "I lost my password for the app.", "password", "I can't sign in.",
         "My password doesn't work.", "How do I recover my account?", "Forgot password?", "login problem",
         "I'm locked out of the app.", "How do I set a new password?", "The app says wrong password.",
         "Can't log in.", "password reset", "How do I change my login?", "I don't remember my password.",
         "Can you help me with my password?", "My account won't let me in.", "login", "reset my password"},
        {"What do I do if I can't remember my password?", "How do I get back into my account?"},
        "Tap Forgot Password on the login screen and we will email you a reset link.",
        {"Forgot Password"},
        {"resetting my password", "a forgotten password", "logging in to my account", "my password", "login problems",
         "my account"},
        {"the password", "my password", "logging in"}},
       {{"我忘记密码了。", "怎么重置密码？", "账号登录不上。", "怎么修改密码？", "App密码丢了怎么办？", "密码",
         "登录不了", "密码不对", "怎么找回账号？", "忘了密码", "登录问题", "账号被锁", "怎么设置新密码？", "提示密码错误",
         "登不上", "密码重置", "怎么改登录密码", "不记得密码了", "帮我处理一下密码", "账号进不去", "登录", "password忘了"},
        {"密码想不起来了怎么办？", "账号进不去了怎么处理？"},
        "在登录页点击“忘记密码”，我们会发送重置链接。",
        {"忘记密码"},
        {"忘记密码", "重置密码", "账号登录", "密码", "登录问题", "账号"},
        {"密码", "登录", "账号"}}},
  });
}

// Power, drinks, capsules, cleaning, discounts and shipping abroad.
void add_more_product(std::vector<Intent>& v) {
  v.insert(v.end(), {
      {"power", "product",
       {{"How much power does {p} use?", "What is the wattage of {p}?", "Does {p} turn off automatically?",
         "How many watts is the machine?", "Is {p} energy efficient?", "power", "How much electricity does {p} need?",
         "What's the power consumption?", "Does {p} have auto shut-off?", "watts?", "Is {p} energy saving?",
         "How many watts does {p} use?", "Does {p} use a lot of electricity?", "What is the power rating?",
         "power usage", "Will {p} switch off by itself?", "energy use?", "How much power is needed?",
         "What voltage and wattage is {p}?", "Does {p} consume much power?", "auto off?", "wattage"},
        {"What's the power consumption of {p}?", "How many watts does {p} draw?"},
        "The AeroBrew X2 uses 1200 watts and switches off after 30 minutes idle.",
        {"1200 watts"},
        {"the power of {p}", "the wattage of {p}", "energy use of {p}", "power consumption", "the wattage",
         "electricity use"},
        {"the power", "the wattage", "power use"}},
       {{"{p}功率多大？", "{p}是多少瓦的？", "{p}会自动关机吗？", "机器功率是多少？", "{p}耗电吗？", "功率",
         "{p}用电多少？", "耗电量多大？", "{p}有自动断电吗？", "多少瓦", "{p}省电吗？", "{p}功率是多少瓦？",
         "{p}费电吗", "额定功率", "用电量", "{p}会自己关机吗", "耗电", "需要多大功率", "{p}电压功率多少",
         "{p}耗电多不多", "自动关机", "{p}的power多大？"},
        {"{p}的耗电功率是多少？", "{p}有多少瓦？"},
        "AeroBrew X2功率为1200瓦，闲置30分钟自动关机。",
        {"1200瓦"},
        {"{p}的功率", "耗电", "{p}多少瓦", "功率", "用电量", "耗电量"},
        {"功率", "耗电", "用电量"}}},
      {"drinks", "product",
       {{"What drinks can {p} make?", "Can {p} make a latte?", "Does it make espresso?",
         "What kinds of coffee does {p} brew?", "Can I make cappuccino with {p}?", "drinks", "Can {p} make americano?",
         "What coffee can I make?", "Does {p} do cappuccino?", "Which drinks does {p} brew?", "espresso?",
         "Can I make a latte at home with {p}?", "What's on the drink menu?", "Recommend a drink I can make with {p}.",
         "Can {p} brew espresso?", "latte?", "How many kinds of coffee does {p} make?", "drink options",
         "Does {p} make milk coffee?", "What can I brew with {p}?", "coffee types", "Can it make a cappuccino?"},
        {"Which coffee drinks does {p} support?", "Is {p} able to make a latte or an americano?"},
        "The X2 brews espresso, americano, latte and cappuccino.",
        {"espresso", "latte"},
        {"the drinks {p} makes", "making a latte with {p}", "which coffees {p} brews", "drink options",
         "coffee drinks", "espresso"},
        {"drinks", "the drinks", "coffee types"}},
       {{"{p}能做什么咖啡？", "{p}能做拿铁吗？", "可以做意式浓缩吗？", "{p}支持哪些饮品？", "能用{p}做卡布奇诺吗？", "饮品",
         "{p}能做美式吗？", "能做哪些咖啡？", "{p}能做卡布奇诺吗", "{p}可以煮什么？", "浓缩咖啡能做吗", "在家用{p}能做拿铁吗？",
         "有哪些饮品可以做？", "推荐一款{p}能做的饮品", "{p}能做浓缩吗？", "拿铁", "{p}能做几种咖啡？", "饮品种类",
         "{p}能做奶咖吗？", "用{p}能做什么", "咖啡种类", "{p}能做latte吗？"},
        {"{p}可以做哪几种咖啡？", "用{p}能做拿铁或美式吗？"},
        "X2可以制作意式浓缩、美式、拿铁和卡布奇诺。",
        {"拿铁", "美式"},
        {"{p}能做的咖啡", "能做哪些饮品", "做拿铁", "饮品", "咖啡种类", "能做的饮品"},
        {"饮品", "咖啡种类", "能做的咖啡"}}},
      {"capsules", "product",
       {{"What kind of coffee does {p} take?", "What type of coffee can I use in {p}?", "Which coffee works in {p}?",
         "Does {p} take pods or ground coffee?", "What coffee does {p} accept?",
         "Does {p} take capsules?", "Can I use ground coffee in {p}?", "Do I need special pods?",
         "Is {p} compatible with coffee pods?", "What coffee can I put in {p}?", "capsules", "Does {p} use pods?",
         "Can I use my own coffee?", "Do I have to buy special capsules?", "Which capsules work with {p}?", "pods?",
         "Does {p} work with ground coffee?", "Can I use any capsule brand?", "Which capsules should I buy?",
         "Ground coffee or pods?", "Are capsules required?", "Can I use coffee powder in {p}?", "capsule compatibility",
         "Does {p} need its own pods?", "Will standard capsules fit {p}?", "ground coffee?", "What pods does {p} use?"},
        {"Will regular coffee pods work in {p}?", "Can {p} use normal ground coffee?"},
        "Yes, the X2 works with both ground coffee and standard capsules.",
        {"ground coffee", "capsules"},
        {"using capsules in {p}", "ground coffee in {p}", "coffee pods", "capsules", "pods", "capsule support"},
        {"capsules", "pods", "ground coffee"}},
       {{"{p}用什么咖啡？", "{p}能放哪种咖啡？",
         "{p}能用胶囊吗？", "可以用咖啡粉吗？", "需要专用胶囊吗？", "{p}兼容咖啡胶囊吗？", "{p}里能放什么咖啡？", "胶囊",
         "{p}用胶囊吗？", "能用自己的咖啡吗？", "一定要买专用胶囊吗？", "哪些胶囊能用？", "咖啡粉可以吗", "{p}支持咖啡粉吗？",
         "任何牌子的胶囊都行吗？", "该买哪种胶囊？", "咖啡粉还是胶囊？", "必须用胶囊吗？", "{p}能放咖啡粉吗",
         "胶囊兼容", "{p}要用原装胶囊吗？", "标准胶囊能用吗", "咖啡粉", "{p}能用capsule吗？"},
        {"普通胶囊能在{p}里用吗？", "{p}能用一般的咖啡粉吗？"},
        "可以，X2同时支持咖啡粉和标准胶囊。",
        {"咖啡粉", "胶囊"},
        {"胶囊", "咖啡粉", "{p}用的咖啡", "咖啡胶囊", "胶囊兼容性", "用什么咖啡"},
        {"胶囊", "咖啡粉", "咖啡胶囊"}}},
      {"cleaning", "product",
       {{"Is {p} dishwasher safe?", "How do I clean {p}?", "Can the carafe go in the dishwasher?",
         "How should I wash the parts?", "What is the best way to clean the machine?", "cleaning", "How do I wash {p}?",
         "Can I put the carafe in a dishwasher?", "dishwasher?", "How do I clean the drip tray?", "Is the carafe dishwasher safe?",
         "cleaning tips?", "What parts are dishwasher safe?", "How do I wipe down {p}?",
         "Can I wash {p} in the sink?", "How to clean the machine?", "cleaning instructions", "Can you help me clean {p}?",
         "Does the drip tray go in the dishwasher?", "washing the parts", "How should {p} be cleaned?"},
        {"Can I put the parts of {p} in the dishwasher?", "How do I keep {p} clean?"},
        "The carafe and drip tray are dishwasher-safe; wipe the base with a damp cloth.",
        {"dishwasher-safe"},
        {"cleaning {p}", "washing the carafe", "the dishwasher", "cleaning", "washing the parts", "the drip tray"},
        {"cleaning", "cleaning it", "washing it"}},
       {{"{p}能用洗碗机洗吗？", "怎么清洗{p}？", "咖啡壶可以放洗碗机吗？", "配件怎么清洗？", "机器怎么清洁？", "清洁",
         "{p}怎么洗？", "咖啡壶能进洗碗机吗", "洗碗机", "接水盘怎么洗？", "咖啡壶可以机洗吗？", "怎么保持{p}干净？",
         "清洁方法", "哪些配件能机洗？", "{p}外壳怎么擦？", "能在水池里洗{p}吗？", "怎么清理机器", "清洗说明",
         "帮我看看{p}怎么清洗", "接水盘能放洗碗机吗", "配件清洗", "{p}的cleaning怎么做？"},
        {"{p}的配件能放进洗碗机吗？", "{p}平时怎么保持干净？"},
        "咖啡壶和接水盘可以放进洗碗机，机身用湿布擦拭即可。",
        {"洗碗机"},
        {"清洁{p}", "洗碗机", "配件清洗", "清洁", "清洗", "接水盘"},
        {"清洁", "清洗", "配件清洗"}}},
      {"student_discount", "pricing",
       {{"Do you have a student discount?", "Are there discounts for students?", "Can students get {p} cheaper?",
         "Is there any discount on {p}?", "Do you offer coupons?", "discount", "I'm a college student. Any discount?",
         "Is there a coupon code?", "Any deals on {p}?", "Do students pay less?", "student discount?", "Are there any promotions?",
         "How much discount do students get?", "Can I get {p} on sale?", "Is {p} cheaper for students?", "coupons?",
         "Any special offers?", "Do you have promo codes?", "Can you help me get a discount?", "student price",
         "Is there a sale on {p}?", "Do you give discounts?"},
        {"I'm a student. Do I get a discount?", "Any special price on {p} for students?"},
        "Students get 10% off with a valid student ID.",
        {"10% off"},
        {"student discounts", "discounts for students", "coupons", "discounts", "promotions", "the student price"},
        {"discounts", "a student discount", "coupons"}},
       {{"有学生优惠吗？", "学生买有折扣吗？", "学生买{p}能便宜吗？", "{p}有折扣吗？", "有优惠券吗？", "优惠",
         "大学生有优惠吗？", "有优惠码吗？", "{p}打折吗？", "学生能便宜点吗？", "学生优惠", "有什么活动吗？",
         "学生打几折", "{p}有促销吗？", "学生买{p}便宜吗", "优惠券", "有特价吗", "有折扣码吗", "帮我看看有没有优惠",
         "学生价", "{p}在打折吗？", "有discount吗？"},
        {"我是学生，能打折吗？", "学生买{p}有什么优惠？"},
        "凭有效学生证可享受九折优惠。",
        {"九折"},
        {"学生优惠", "折扣", "优惠券", "优惠", "促销", "学生价"},
        {"优惠", "折扣", "学生优惠"}}},
      {"international", "shipping",
       {{"Can I order {p} from {place}?", "Do you ship to {place}?", "I live in {place}. Can I buy {p}?",
         "Can I get {p} delivered to {place}?", "How long does delivery to {place} take?",
         "Can I buy {p} from {place}?", "Do you deliver to {place}, and how long does it take?",
         "Do you ship internationally?", "Can you send {p} abroad?", "Which countries do you ship to?",
         "Do you deliver outside the country?", "How long does international shipping take?", "international shipping",
         "Do you ship overseas?", "Can I order {p} from abroad?", "Do you deliver to other countries?", "Can you ship to France?",
         "international delivery?", "Do you ship worldwide?", "Can {p} be shipped to Japan?", "How many countries do you ship to?",
         "Is international shipping available?", "shipping abroad?", "Do you ship to Canada?", "overseas shipping",
         "Can I get {p} delivered abroad?", "Do you send orders to other countries?", "worldwide shipping?",
         "Can I buy {p} outside the country?"},
        {"Can I order {p} from another country?", "Is overseas delivery available?"},
        "We ship to 20 countries; international delivery takes 7 to 14 days.",
        {"20 countries"},
        {"international shipping", "shipping abroad", "delivery to other countries", "overseas delivery",
         "worldwide shipping", "shipping to other countries"},
        {"international shipping", "shipping abroad", "overseas delivery"}},
       {{"能寄到{place}吗？", "我在{place}，能买{p}吗？", "寄到{place}要多久？", "{place}能收到{p}吗？",
         "可以寄到国外吗？", "{p}能发海外吗？", "你们寄哪些国家？", "支持国际配送吗？", "国际快递要多久？", "国际配送",
         "能发国外吗？", "海外能买{p}吗？", "能寄到别的国家吗？", "能寄到日本吗？", "国际运输", "全球都能寄吗？",
         "{p}能寄到美国吗？", "你们发多少个国家？", "有国际物流吗？", "寄到国外", "能送到加拿大吗", "海外配送",
         "在国外能收到{p}吗", "订单能寄到海外吗", "international shipping支持吗？", "国外能买吗"},
        {"在国外能买{p}吗？", "海外可以送货吗？"},
        "我们可以寄往20个国家，国际配送需要7到14天。",
        {"20个国家"},
        {"国际配送", "海外发货", "寄到国外", "国际物流", "海外配送", "国际运输"},
        {"国际配送", "海外发货", "寄到国外"}}},
  });
}

}  // namespace

const std::vector<Intent>& intents() {
  // Per intent and language: training phrasings (plain, casual, terse, with context,
  // near-miss forms that look like off-topic requests but are about the product, and in
  // Chinese a few mixed with English words), the held-out phrasings, the answer, its
  // facts, topic noun phrases for the shared frames, and follow-up nouns.
  static const std::vector<Intent> kIntents = [] {
    std::vector<Intent> v;
    add_orders_and_money(v);
    add_returns_and_refunds(v);
    add_the_product(v);
    add_troubleshooting(v);
    add_the_account(v);
    add_more_product(v);
    return v;
  }();
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
                             "Tell me {t}, please.",        "I want to ask about {t}.", "Do you know {t}?",
                             "Can you help me with {t}?",  "I have a question regarding {t}.", "info on {t} please",
                             "what about {t}",             "I'd like some details about {t}.", "Can you tell me about {t}?",
                             "Need to know {t}.",          "quick q about {t}",        "What's the deal with {t}?",
                             "I'm curious about {t}.",     "Could you clarify {t} for me?", "Explain {t} to me.",
                             "I'd like to know about {t}.", "Can I ask about {t}?",    "Write me a short note on {t}.",
                             "Give me the details on {t}.", "What should I know about {t}?", "Looking for info about {t}.",
                             "Tell me something about {t}.", "Please check {t} for me."};
  static const Strings zh = {"请介绍一下{t}。", "我想了解{t}。",   "关于{t}，能说说吗？", "{t}是怎样的？", "问一下{t}。",
                             "能解释一下{t}吗？", "{t}？",          "想咨询{t}。",         "告诉我{t}。",   "{t}有什么说明？",
                             "关于{t}的问题。", "{t}怎么说？", "能说一下{t}吗？", "我想问问{t}。", "想知道{t}。",
                             "{t}能介绍下吗", "请问{t}", "帮我查一下{t}。", "咨询一下{t}", "{t}的情况是怎样的？",
                             "麻烦讲讲{t}", "{t}，求解答", "求问{t}", "了解一下{t}", "能帮我看看{t}吗？",
                             "写一下{t}的说明。", "{t}是什么情况？", "给我讲讲{t}。"};
  return pick(l, en, zh);
}

const Strings& product_names(Lang l) {
  static const Strings en = {"the AeroBrew X2", "the X2", "my coffee maker", "the machine", "your coffee maker",
                             "the AeroBrew", "it", "my X2", "this coffee machine", "the coffee maker"};
  static const Strings zh = {"AeroBrew X2", "X2", "这台咖啡机", "你们的咖啡机", "咖啡机", "这款机器", "它", "我的X2",
                             "这个机器", "你们家的咖啡机"};
  return pick(l, en, zh);
}

const Strings& question_prefixes(Lang l) {
  static const Strings en = {"",         "",          "", "", "Hi, ",          "Hello! ",           "Hey there. ",
                             "Quick question: ", "Excuse me, ", "I have a question. ", "Sorry to bother you, ",
                             "Good morning. ", "hey ", "Hi there! ", "Hello, ", "Good evening. ", "Um, ", "So, ",
                             "Hi again. ", "Dear support, "};
  static const Strings zh = {"", "", "", "", "你好，", "您好！", "请问", "打扰一下，", "我想问一下，", "客服你好，", "在吗？",
                             "亲，", "哈喽，", "你好呀，", "问个问题，", "嗯，", "那个，", "客服，", "早上好，"};
  return pick(l, en, zh);
}

const Strings& question_suffixes(Lang l) {
  static const Strings en = {"", "", "", "", "", " Thanks!", " Thank you.", " Please help.", " Thanks in advance.",
                             " thx", " Cheers.", " Appreciate it.", " Thanks a lot!"};
  static const Strings zh = {"", "", "", "", "", "谢谢！", "谢谢。", "麻烦了。", "急，在线等。", "多谢", "谢啦",
                             "辛苦了。", "求回复"};
  return pick(l, en, zh);
}

const Strings& question_contexts(Lang l) {
  static const Strings en = {"I just bought {p}. ", "My {p} arrived yesterday. ", "I'm thinking about getting {p}. ",
                             "We use {p} at the office. ", "I got {p} as a gift. ", "I've had {p} for a month. ",
                             "I'm new to {p}. ", "My wife ordered {p} last week. ", "I'm comparing coffee makers. ",
                             "I saw {p} online. "};
  static const Strings zh = {"我刚买了{p}，", "{p}昨天到了，", "我在考虑买{p}，", "我们办公室用{p}，", "朋友送了我{p}，",
                             "{p}用了一个月了，", "我第一次用{p}，", "我老公上周下单了{p}，", "我在对比几款咖啡机，",
                             "在网上看到{p}，"};
  return pick(l, en, zh);
}

const Strings& answer_openers(Lang l) {
  static const Strings en = {"", "", "", "", "Sure! ", "Happy to help. ", "Good question! ", "Of course. "};
  static const Strings zh = {"", "", "", "", "您好，", "好的，", "亲，", "没问题，"};
  return pick(l, en, zh);
}

const Strings& follow_up_leads(Lang l) {
  static const Strings en = {"Also, ", "One more thing: ", "And ", "Another question: ", "OK. ", "Thanks. ",
                             "Got it. ", "Great. ", "By the way, ", "Oh, and "};
  static const Strings zh = {"还有，", "另外，", "那", "再问一下，", "好的。", "谢谢。", "明白了，", "好，", "顺便问一下，",
                             "对了，"};
  return pick(l, en, zh);
}

const Strings& follow_up_frames(Lang l) {
  static const Strings en = {"And {f}?", "What about {f}?", "How about {f}?", "and {f}?", "And what about {f}?",
                             "OK, and {f}?", "{f}?", "What about {f} then?", "Also {f}?", "And {f}, please?"};
  static const Strings zh = {"那{f}呢？", "{f}呢？", "还有{f}呢？", "那{f}怎么样？", "{f}又是怎样？", "好的，那{f}呢？",
                             "另外{f}呢？", "{f}？", "那{f}如何？", "再问下{f}？"};
  return pick(l, en, zh);
}

const Strings& slot_values(Lang l, std::string_view slot) {
  static const Strings en_amount = {"$100", "$150", "$200", "$99", "100 dollars", "a hundred bucks", "$120"};
  static const Strings zh_amount = {"1000元", "800块", "一千块", "500元", "900块钱", "两千"};
  static const Strings en_color = {"black", "white", "red", "silver", "grey", "blue", "green"};
  static const Strings zh_color = {"黑色", "白色", "红色", "银色", "灰色", "蓝色", "绿色"};
  static const Strings en_place = {"Europe", "Canada", "the UK", "Germany", "Australia", "Japan", "Mexico", "Italy"};
  static const Strings zh_place = {"欧洲", "加拿大", "英国", "德国", "澳大利亚", "日本", "新加坡", "香港"};
  static const Strings en_day = {"on Saturday", "on Sunday", "on weekends", "at 8 in the evening", "at 7 am",
                                 "late at night", "on a public holiday", "on Monday morning", "at lunchtime"};
  static const Strings zh_day = {"周六", "周日", "周末", "晚上八点", "早上七点", "半夜", "节假日", "周一上午", "中午"};
  static const Strings en_card = {"Visa", "Mastercard", "PayPal", "a credit card", "a debit card", "my card"};
  static const Strings zh_card = {"Visa", "万事达卡", "PayPal", "信用卡", "银行卡"};
  static const Strings en_n = {"four", "five", "six", "two", "ten", "three"};
  static const Strings zh_n = {"四", "五", "六", "两", "十", "三"};
  static const Strings none;
  const bool e = l == Lang::kEn;
  if (slot == "amount") return e ? en_amount : zh_amount;
  if (slot == "color") return e ? en_color : zh_color;
  if (slot == "place") return e ? en_place : zh_place;
  if (slot == "day") return e ? en_day : zh_day;
  if (slot == "card") return e ? en_card : zh_card;
  if (slot == "n") return e ? en_n : zh_n;
  return none;
}

const Strings& everyday_remarks(Lang l) {
  // None touches the held-out refusal requests' subjects (off_topic_heldout below).
  static const Strings en = {"It's been raining all day here. ", "I'm just back from a trip to Paris. ",
                             "My laptop finally got fixed today. ", "We're having friends over for dinner. ",
                             "I just watched the football game. ", "My dog woke me up at six. ",
                             "I'm working from home this week. ", "I'm shopping for a birthday present. ",
                             "My old phone broke last week. ", "I finished my taxes today, finally. ",
                             "We just moved into a new flat. ", "It's been a long week at work. ",
                             "The kids are doing their math homework. ", "I'm learning to bake bread. ",
                             "My sister recommended your shop. ", "I'm in Tokyo on business right now. "};
  static const Strings zh = {"今天一直在下雨，", "刚从巴黎旅游回来，", "我的电脑今天终于修好了，", "今晚家里请朋友吃饭，",
                             "刚看完球赛，", "狗狗早上六点就把我叫醒了，", "这周在家办公，", "在给朋友挑生日礼物，",
                             "上周手机坏了，", "刚报完税，", "刚搬了新家，", "这周工作好累，", "孩子在写数学作业，",
                             "最近在学做面包，", "我姐姐推荐了你们家，", "我现在在东京出差，"};
  return pick(l, en, zh);
}

const Strings& off_topic_requests(Lang l) {
  static const Strings en = {"Can you write a poem about the sea?", "What's the weather tomorrow?",
                             "Who won the football game last night?", "Tell me a joke about cats.",
                             "Can you help me with my math homework?", "What is the capital of France?",
                             "Recommend a good movie.", "How do I bake bread?", "Translate this letter into German.",
                             "What stocks should I buy?", "Write an essay about climate change.",
                             "What's the best pizza place nearby?", "Can you fix my laptop?", "Sing me a song.",
                             "How tall is Mount Everest?", "What's the meaning of life?", "Help me write a birthday card.",
                             "Which phone should I buy?", "How do I lose weight fast?", "What time is it in Tokyo?",
                             "Can you do my taxes?", "Who is the president of Brazil?", "Tell me a bedtime story.",
                             "How do I learn to play guitar?", "What's a good name for my dog?",
                             "Can you recommend a hotel in Paris?", "Explain how airplanes fly.",
                             "Write a rap about pizza.", "What should I cook for dinner?", "Is it going to rain today?"};
  static const Strings zh = {"帮我写一首关于大海的诗。", "明天天气怎么样？", "昨晚球赛谁赢了？", "讲个关于猫的笑话吧。",
                             "帮我做数学作业。", "法国的首都是哪里？", "推荐一部好看的电影。", "面包怎么做？",
                             "帮我把这封信翻译成德语。", "我该买哪只股票？", "写一篇关于气候变化的作文。", "附近哪家披萨好吃？",
                             "能帮我修电脑吗？", "给我唱首歌。", "珠穆朗玛峰有多高？", "人生的意义是什么？",
                             "帮我写张生日贺卡。", "我该买哪款手机？", "怎么快速减肥？", "东京现在几点？", "帮我报个税。",
                             "巴西总统是谁？", "讲个睡前故事。", "怎么学吉他？", "给我的狗起个名字。", "推荐一家巴黎的酒店。",
                             "飞机为什么能飞？", "写一段关于火锅的说唱。", "晚饭做什么好？", "今天会下雨吗？"};
  return pick(l, en, zh);
}

const Strings& off_topic_frames(Lang l) {
  // The same kinds of frames as question_frames(): only the subject tells the two apart.
  static const Strings en = {"Tell me about {s}.", "Can you explain {s}?", "What do you know about {s}?",
                             "Help me with {s}.", "I need advice on {s}.", "Write something about {s}.",
                             "Give me tips on {s}.", "What's your opinion on {s}?", "Quick question about {s}.",
                             "Could you help me understand {s}?", "I'd like some details about {s}.", "{s}?"};
  static const Strings zh = {"给我讲讲{s}。", "能解释一下{s}吗？", "关于{s}你知道什么？", "帮我看看{s}。",
                             "想请教一下{s}。", "写点关于{s}的东西。", "给点{s}的建议。", "你怎么看{s}？",
                             "问一下{s}。", "能帮我了解{s}吗？", "{s}？", "想知道{s}。"};
  return pick(l, en, zh);
}

const Strings& off_topic_subjects(Lang l) {
  static const Strings en = {"the history of Egypt", "black holes", "the stock market", "learning Spanish",
                             "my car insurance", "gardening", "the Olympics", "tennis rules", "a trip to Japan",
                             "my sleep problems", "job interviews", "yoga for beginners", "the solar system",
                             "chess openings", "knitting", "renting an apartment", "my wedding speech", "dinosaurs",
                             "the best smartphone", "vegan recipes", "investing in gold", "the moon landing",
                             "saving money", "painting a room", "training a puppy", "the latest news",
                             "video games", "a good book to read", "my phone bill", "a diet plan"};
  static const Strings zh = {"埃及的历史", "黑洞", "股市", "学西班牙语", "车险", "种花", "奥运会", "网球规则",
                             "去日本旅游", "失眠问题", "求职面试", "瑜伽入门", "太阳系", "象棋开局", "织毛衣", "租房",
                             "婚礼致辞", "恐龙", "哪款手机最好", "素食菜谱", "投资黄金", "登月", "存钱", "刷墙",
                             "训练小狗", "最新新闻", "电子游戏", "好书推荐", "手机话费", "减肥计划"};
  return pick(l, en, zh);
}

const Strings& off_topic_heldout(Lang l) {
  static const Strings en = {"Write me a short story about dragons.", "Who is the best basketball player ever?",
                             "Can you plan my holiday in Spain?", "What's a good recipe for chicken soup?",
                             "How do I change a flat tire on my car?", "Explain quantum physics in simple words.",
                             "Who will win the next election?", "Can you write my cover letter for a job?",
                             "What's 17 times 23?", "Tell me about the history of Rome."};
  static const Strings zh = {"给我写一个关于龙的故事。", "谁是史上最好的篮球运动员？", "帮我规划一下去西班牙的旅行。",
                             "鸡汤怎么做才好喝？", "汽车轮胎漏气了怎么补？", "用简单的话解释一下量子物理。",
                             "下一届选举谁会赢？", "帮我写一封求职信。", "17乘以23等于多少？", "给我讲讲罗马的历史。"};
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
